"""Per-user submit limits: how many batches and titles an owner may submit in an hour.

Counted from the batches table (the `owner` column, over the last hour: no counter to lose or
to keep in step), against the user's own limits (an admin's PUT /api/limits/{user_name}) or
the defaults SUBMIT_MAX_BATCHES_PER_HOUR / SUBMIT_MAX_TITLES_PER_HOUR (0 = unlimited). A submit
over a limit is refused with 429, a Retry-After of when enough of the hour's batches leave the
window, and a message naming the limit. Batches without an owner share one count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app.batches import repository
from app.batches.errors import BatchError, SubmitLimitReached
from app.batches.validation import clean_owner
from app.config import get_settings
from app.core.models import utcnow

WINDOW = timedelta(hours=1)
MAX_BATCHES = 1_000_000
MAX_TITLES = 100_000_000


@dataclass(frozen=True)
class Limits:
    user_name: str
    max_batches_per_hour: int
    """In force: the user's own, else the default (0 = unlimited)."""
    max_titles_per_hour: int
    batches_override: int | None
    """The user's own (None: the default applies)."""
    titles_override: int | None
    batches_last_hour: int
    titles_last_hour: int


def _user(user_name: object) -> str:
    cleaned = clean_owner(user_name, "user_name")
    if cleaned is None:
        raise BatchError.invalid("user_name", "must not be empty")
    return cleaned


def _in_force(session: Session, name: str | None) -> tuple[int, int, int | None, int | None]:
    """(batches, titles) limits in force for `name`, then the user's own (None: none)."""
    row = repository.submit_limit(session, name) if name is not None else None
    own_batches = row.max_batches_per_hour if row else None
    own_titles = row.max_titles_per_hour if row else None
    settings = get_settings()
    return (settings.submit_max_batches_per_hour if own_batches is None else own_batches,
            settings.submit_max_titles_per_hour if own_titles is None else own_titles,
            own_batches, own_titles)


def limits_of(session: Session, user_name: object) -> Limits:
    name = _user(user_name)
    batches, titles, own_batches, own_titles = _in_force(session, name)
    recent = repository.submitted_since(session, name, utcnow() - WINDOW)
    return Limits(user_name=name, max_batches_per_hour=batches, max_titles_per_hour=titles,
                  batches_override=own_batches, titles_override=own_titles,
                  batches_last_hour=len(recent), titles_last_hour=sum(n for _, n in recent))


def _whole(value: float | None, field: str, maximum: int) -> int | None:
    if value is None:
        return None
    if not float(value).is_integer() or not 0 <= value <= maximum:
        raise BatchError.invalid(field, f"must be a whole number from 0 to {maximum} "
                                 f"(0: unlimited) or null (the default), got {value}")
    return int(value)


def set_limits(session: Session, user_name: object, *, max_batches: float | None,
               max_titles: float | None) -> Limits:
    """Store the user's own limits (None: back to the default; 0: unlimited)."""
    name = _user(user_name)
    repository.save_submit_limit(
        session, name, max_batches=_whole(max_batches, "max_batches_per_hour", MAX_BATCHES),
        max_titles=_whole(max_titles, "max_titles_per_hour", MAX_TITLES))
    return limits_of(session, name)


def _free_after(recent: list[tuple[datetime, int]], needed: int, weight: bool,
                now: datetime) -> int:
    """Seconds until the oldest submissions free `needed` batches (or titles, by weight)."""
    freed = 0
    for at, titles in recent:
        freed += titles if weight else 1
        if freed >= needed:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
            left = at + WINDOW - now
            return max(1, math.ceil(left.total_seconds()))
    return int(WINDOW.total_seconds())


def check(session: Session, owner: str | None, titles: int) -> None:
    """Refuse (SubmitLimitReached, 429) a submit of `titles` titles by `owner` that would pass
    the owner's hourly limits; a batch larger than the titles limit itself is bad input."""
    max_batches, max_titles, _, _ = _in_force(session, owner)
    if not (max_batches or max_titles):
        return  # unlimited: nothing to count
    now = utcnow()
    recent = repository.submitted_since(session, owner, now - WINDOW)
    who = f"user {owner!r}" if owner else "submissions without an owner"
    if max_titles and titles > max_titles:
        raise BatchError.invalid("titles", f"{titles} titles are more than the limit of "
                                 f"{max_titles} titles per hour of {who}")
    if max_batches and len(recent) + 1 > max_batches:
        wait = _free_after(recent, len(recent) + 1 - max_batches, False, now)
        raise SubmitLimitReached(
            "titles", f"limit of {max_batches} batches per hour reached for {who} "
            f"(SUBMIT_MAX_BATCHES_PER_HOUR or the user's own); retry in {wait} s", wait)
    used = sum(n for _, n in recent)
    if max_titles and used + titles > max_titles:
        wait = _free_after(recent, used + titles - max_titles, True, now)
        raise SubmitLimitReached(
            "titles", f"limit of {max_titles} titles per hour reached for {who} ({used} "
            f"submitted in the last hour, {titles} more asked; SUBMIT_MAX_TITLES_PER_HOUR or "
            f"the user's own); retry in {wait} s", wait)
