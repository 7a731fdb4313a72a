"""Scheduled batches: create, change, delete and run them.

The database is the truth; each change is mirrored into the schedule's RedBeat entry after it
commits (app.schedules.redbeat). Nothing here commits: the request or task does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.batches import repository as batch_repository
from app.batches import service as batches
from app.batches.errors import BatchError
from app.batches.validation import (
    clean_category,
    clean_language,
    clean_mode,
    clean_owner,
    clean_priority,
    clean_titles,
    fold_spaces,
    line_problem,
)
from app.core import outbox
from app.core.logs import mask_secrets
from app.core.models import utcnow
from app.core.redis import get_redis
from app.schedules import redbeat, repository
from app.schedules.cron import clean_cron
from app.schedules.errors import (
    ScheduleError,
    ScheduleNameTaken,
    ScheduleNotFound,
    SchedulesUnavailable,
)
from app.schedules.models import Schedule

log = logging.getLogger(__name__)


NAME_MAX_LENGTH = 100


def clean_name(name: object) -> str:
    """One line of text, as a title is (app.batches.validation.line_problem)."""
    problem = line_problem(name, NAME_MAX_LENGTH)
    if problem is not None:
        raise ScheduleError.invalid("name", problem)
    return fold_spaces(str(name))


@dataclass
class Changes:
    """Validated fields to set (None = leave as is). `owner` is set whenever `set_owner` is:
    to None (no owner) for a null or blank one."""

    name: str | None = None
    cron: str | None = None
    titles: list[str] | None = None
    category: str | None = None
    enabled: bool | None = None
    mode: str | None = None
    language: str | None = None
    priority: str | None = None
    owner: str | None = None
    set_owner: bool = False

    @classmethod
    def of(cls, **fields: Any) -> Changes:
        return cls(
            name=clean_name(fields["name"]) if fields.get("name") is not None else None,
            cron=clean_cron(fields["cron"]) if fields.get("cron") is not None else None,
            titles=clean_titles(fields["titles"]) if fields.get("titles") is not None else None,
            category=(
                clean_category(fields["category"]) if fields.get("category") is not None else None
            ),
            enabled=fields.get("enabled"),
            mode=clean_mode(fields["mode"]) if fields.get("mode") is not None else None,
            language=(
                clean_language(fields["language"]) if fields.get("language") is not None else None
            ),
            priority=(
                clean_priority(fields["priority"]) if fields.get("priority") is not None else None
            ),
            owner=clean_owner(fields.get("owner")),
            set_owner="owner" in fields,
        )


def _require_redis() -> None:
    """Beat reads schedules from Redis: refuse a change it could not see, before storing it."""
    try:
        get_redis().ping()
    except redis.RedisError as exc:
        raise SchedulesUnavailable(exc) from exc


def _mirror_after_commit(session: Session, schedule_id: str) -> None:
    """After the commit of a change to the schedule (an API request, or a run that found it
    deleted), the process that committed writes its RedBeat entry from the database:
    redbeat.sync_one, which beat reads on its next tick."""
    outbox.after_commit(session, partial(redbeat.sync_one, schedule_id),
                        f"RedBeat entry of schedule {schedule_id}")


def _flush(session: Session, schedule: Schedule) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ScheduleNameTaken(schedule.name) from None


def create(session: Session, name: str, cron: str, titles: list[str], category: str,
           enabled: bool = True, mode: str | None = None,
           language: str | None = None, priority: str | None = None,
           owner: str | None = None) -> Schedule:
    changes = Changes.of(name=name, cron=cron, titles=titles, category=category, mode=mode,
                         language=language, priority=priority, owner=owner)
    _require_redis()
    schedule = Schedule(name=changes.name, cron=changes.cron, titles=changes.titles,
                        category=changes.category, enabled=enabled, mode=changes.mode,
                        language=changes.language, priority=changes.priority,
                        owner=changes.owner)
    session.add(schedule)
    _flush(session, schedule)
    _mirror_after_commit(session, schedule.id)
    log.info("schedule %s (%r) created: %s", schedule.id, schedule.name, schedule.cron)
    return schedule


def update(session: Session, schedule_id: str, changes: Changes) -> Schedule:
    schedule = get_or_404(session, schedule_id)
    _require_redis()
    for field in ("name", "cron", "titles", "category", "enabled", "mode", "language",
                  "priority"):
        value = getattr(changes, field)
        if value is not None:
            setattr(schedule, field, value)
    if changes.set_owner:
        schedule.owner = changes.owner
    schedule.updated_at = utcnow()
    _flush(session, schedule)
    _mirror_after_commit(session, schedule.id)
    log.info("schedule %s updated (enabled=%s, cron=%s)", schedule.id, schedule.enabled,
             schedule.cron)
    return schedule


def delete(session: Session, schedule_id: str) -> None:
    schedule = get_or_404(session, schedule_id)
    _require_redis()
    session.delete(schedule)
    session.flush()
    _mirror_after_commit(session, schedule_id)
    log.info("schedule %s deleted", schedule_id)


def get_or_404(session: Session, schedule_id: str) -> Schedule:
    schedule = repository.get(session, schedule_id)
    if schedule is None:
        raise ScheduleNotFound(schedule_id)
    return schedule


# --- a run -------------------------------------------------------------------------------


def run(session: Session, schedule_id: str, run_id: str) -> dict[str, Any]:
    """One run: an ordinary batch linked to the schedule, dispatched after the commit.

    `run_id` (the Celery task id) makes a redelivered run return the batch it already made.
    """
    schedule = repository.get(session, schedule_id)
    if schedule is None or not schedule.enabled:
        why = "deleted" if schedule is None else "disabled"
        log.info("schedule %s is %s; nothing to run", schedule_id, why)
        if schedule is None:
            _mirror_after_commit(session, schedule_id)  # drops the orphaned entry
        return {"schedule_id": schedule_id, "skipped": why}
    key = f"schedule:{schedule_id}:{run_id}"
    earlier = batch_repository.find_by_key(session, key)
    if earlier is not None:  # the same run delivered again
        return {"schedule_id": schedule_id, "batch_id": earlier.id, "created": False}
    try:
        batch, created = batches.submit(
            session, list(schedule.titles), schedule.category, idempotency_key=key,
            extra={"schedule_id": schedule_id}, mode=schedule.mode,
            language=schedule.language, priority=schedule.priority, owner=schedule.owner,
        )
    except BatchError as exc:
        schedule.last_error = mask_secrets(str(exc))[:2000]
        log.error("schedule %s could not run: %s", schedule_id, exc)
        return {"schedule_id": schedule_id, "error": str(exc)}
    if created:
        schedule.run_count += 1
        schedule.last_run_at = utcnow()
        schedule.last_batch_id = batch.id
        schedule.last_error = None
        log.info("schedule %s started batch %s (%d titles)", schedule_id, batch.id, batch.total)
    return {"schedule_id": schedule_id, "batch_id": batch.id, "created": created}
