"""Scheduled batches: stored in the database, mirrored into RedBeat entries for beat.

The database is the truth. Every change is committed first and then written to the schedule's
RedBeat entry in Redis, which a running beat reads on its next tick (no restart) and a
restarted beat finds again. `sync_all` rebuilds every entry from the database (beat start-up
and the periodic cleanup), so a Redis that lost its data gets the schedules back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab
from redbeat import RedBeatSchedulerEntry
from redbeat.schedulers import ensure_conf
from redbeat.schedulers import get_redis as redbeat_redis
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import session_scope
from app.models import Schedule, utcnow
from app.redis_client import get_redis
from app.services import batches
from app.services.batches import Conflict, InvalidInput, clean_category, clean_titles

log = logging.getLogger(__name__)

RUN_TASK = "app.tasks.maintenance.run_schedule"
ENTRY_PREFIX = "schedule:"
FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


# --- validation --------------------------------------------------------------------------


def parse_cron(expression: str) -> crontab:
    """A standard 5-field cron expression (UTC) or a macro such as @daily, as beat runs it."""
    text = " ".join(str(expression or "").split())
    fields = MACROS.get(text.lower(), text).split()
    if len(fields) != 5:
        raise InvalidInput(
            "cron",
            f"needs 5 fields (minute hour day-of-month month day-of-week) or a macro such as "
            f"@daily, got {len(fields)} field(s) in {text!r}",
        )
    spec = dict(zip(FIELDS, fields, strict=True))
    for field, value in spec.items():  # name the field at fault
        try:
            crontab(**{field: value})
        except Exception as exc:
            label = field.replace("_", "-")
            raise InvalidInput("cron", f"{label} field {value!r} is not valid: {exc}") from None
    try:
        return crontab(**spec)
    except Exception as exc:  # e.g. 31 February
        raise InvalidInput("cron", f"{text!r} is not valid: {exc}") from None


def clean_cron(expression: str) -> str:
    parse_cron(expression)
    return " ".join(str(expression).split())


def clean_name(name: str) -> str:
    value = " ".join(str(name or "").split())
    if not value:
        raise InvalidInput("name", "must not be blank")
    if len(value) > 100:
        raise InvalidInput("name", f"at most 100 characters, got {len(value)}")
    return value


def next_run(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    if not schedule.enabled:
        return None
    now = now or utcnow()
    due = now + parse_cron(schedule.cron).remaining_estimate(now)
    # Celery's estimate lands a few microseconds short of the minute.
    return (due + timedelta(milliseconds=500)).replace(microsecond=0)


@dataclass
class Changes:
    """Validated fields to set (None = leave as is)."""

    name: str | None = None
    cron: str | None = None
    titles: list[str] | None = None
    category: str | None = None
    enabled: bool | None = None

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
        )


# --- RedBeat mirror ----------------------------------------------------------------------


def entry_name(schedule_id: str) -> str:
    return f"{ENTRY_PREFIX}{schedule_id}"


def _entry_key(schedule_id: str) -> str:
    from app.celery_app import app

    return str(ensure_conf(app).key_prefix) + entry_name(schedule_id)


def load_entry(schedule_id: str) -> RedBeatSchedulerEntry | None:
    from app.celery_app import app

    try:
        return RedBeatSchedulerEntry.from_key(_entry_key(schedule_id), app=app)
    except KeyError:
        return None


def mirror(schedule: Schedule) -> None:
    """Make the RedBeat entry match the row: saved when enabled, removed when not."""
    from app.celery_app import app

    existing = load_entry(schedule.id)
    if not schedule.enabled:
        if existing is not None:
            existing.delete()
        return
    entry = RedBeatSchedulerEntry(
        name=entry_name(schedule.id),
        task=RUN_TASK,
        schedule=parse_cron(schedule.cron),
        args=[schedule.id],
        app=app,
    )
    if existing is not None:
        if (existing.task, existing.args, existing.schedule) == (entry.task, entry.args,
                                                                 entry.schedule):
            return  # already right: leave beat's bookkeeping alone
        if existing.last_run_at is not None:
            # Keep beat's memory of the last run, so an edit does not fire the schedule again.
            entry.last_run_at = existing.last_run_at
    entry.save()


def remove_entry(schedule_id: str) -> None:
    entry = load_entry(schedule_id)
    if entry is not None:
        entry.delete()


@contextmanager
def _mirror_lock() -> Iterator[None]:
    """One writer of the mirror at a time: an API change and a sync can't interleave and leave
    Redis with the older definition."""
    with get_redis().lock("ta:lock:schedules", timeout=30, blocking_timeout=10):
        yield


def sync_all() -> dict[str, int]:
    """Rebuild every schedule's RedBeat entry from the database; drop entries of deleted ones."""
    from app.celery_app import app

    with _mirror_lock(), session_scope() as session:
        rows = list(session.scalars(select(Schedule)))
        for schedule in rows:
            mirror(schedule)
        known = {_entry_key(s.id) for s in rows}
        conf = ensure_conf(app)
        client = redbeat_redis(app)
        orphans = 0
        for key in client.zrange(conf.schedule_key, 0, -1):
            if key.startswith(_entry_key("")) and key not in known:
                client.zrem(conf.schedule_key, key)
                client.delete(key)
                orphans += 1
    return {"schedules": len(rows), "orphans_removed": orphans}


# --- CRUD --------------------------------------------------------------------------------


def create(session: Session, name: str, cron: str, titles: list[str], category: str,
           enabled: bool = True) -> Schedule:
    changes = Changes.of(name=name, cron=cron, titles=titles, category=category)
    schedule = Schedule(name=changes.name, cron=changes.cron, titles=changes.titles,
                        category=changes.category, enabled=enabled)
    with _mirror_lock():
        session.add(schedule)
        _commit(session)
        mirror(schedule)
    log.info("schedule %s (%r) created: %s", schedule.id, schedule.name, schedule.cron)
    return schedule


def update(session: Session, schedule_id: str, changes: Changes) -> Schedule | None:
    with _mirror_lock():
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            return None
        for field in ("name", "cron", "titles", "category", "enabled"):
            value = getattr(changes, field)
            if value is not None:
                setattr(schedule, field, value)
        schedule.updated_at = utcnow()
        _commit(session)
        mirror(schedule)
    log.info("schedule %s updated (enabled=%s, cron=%s)", schedule.id, schedule.enabled,
             schedule.cron)
    return schedule


def delete(session: Session, schedule_id: str) -> bool:
    with _mirror_lock():
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            return False
        session.delete(schedule)
        session.commit()
        remove_entry(schedule_id)
    log.info("schedule %s deleted", schedule_id)
    return True


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("name: another schedule already has this name") from None


def get(session: Session, schedule_id: str) -> Schedule | None:
    return session.get(Schedule, schedule_id)


def list_schedules(session: Session, *, limit: int, offset: int) -> tuple[list[Schedule], int]:
    rows = session.scalars(
        select(Schedule).order_by(Schedule.created_at.desc(), Schedule.id).limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(session.scalar(select(func.count()).select_from(Schedule)) or 0)


# --- a run -------------------------------------------------------------------------------


def run(schedule_id: str, run_id: str) -> dict[str, Any]:
    """One run: an ordinary batch linked to the schedule, committed, then enqueued.

    `run_id` (the Celery task id) makes a redelivered run return the batch it already made.
    """
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None or not schedule.enabled:
            why = "deleted" if schedule is None else "disabled"
            log.info("schedule %s is %s; nothing to run", schedule_id, why)
            if schedule is None:
                remove_entry(schedule_id)
            return {"schedule_id": schedule_id, "skipped": why}
        key = f"schedule:{schedule_id}:{run_id}"
        earlier = batches.find_by_key(session, key)
        if earlier is not None:  # the same run delivered again
            return {"schedule_id": schedule_id, "batch_id": earlier.id, "created": False}
        try:
            batch, created = batches.submit(
                session, list(schedule.titles), schedule.category, idempotency_key=key,
                extra={"schedule_id": schedule_id},
            )
        except (InvalidInput, Conflict) as exc:
            schedule.last_error = str(exc)
            log.error("schedule %s could not run: %s", schedule_id, exc)
            return {"schedule_id": schedule_id, "error": str(exc)}
        if created:
            schedule.run_count += 1
            schedule.last_run_at = utcnow()
            schedule.last_batch_id = batch.id
            schedule.last_error = None
    if created:
        # After the commit. Should this fail, the reaper dispatches the pending batch later.
        batches.enqueue_batch(batch)
        log.info("schedule %s started batch %s (%d titles)", schedule_id, batch.id, batch.total)
    return {"schedule_id": schedule_id, "batch_id": batch.id, "created": created}
