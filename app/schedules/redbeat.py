"""The RedBeat side of schedules: one entry per enabled schedule, rebuilt from the database.

Beat reads the entries on its next tick (no restart) and a restarted beat finds them again.
`sync_all` rebuilds every entry from the database (beat start-up and a periodic task), so a
Redis that lost its data gets the schedules back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redbeat import RedBeatSchedulerEntry
from redbeat.schedulers import ensure_conf
from redbeat.schedulers import get_redis as redbeat_redis

from app.core import names, queue
from app.core.db import session_scope
from app.core.redis import get_redis
from app.schedules import repository
from app.schedules.cron import parse_cron
from app.schedules.models import Schedule

ENTRY_PREFIX = "schedule:"


def entry_name(schedule_id: str) -> str:
    return f"{ENTRY_PREFIX}{schedule_id}"


def _entry_key(schedule_id: str) -> str:
    return str(ensure_conf(queue.celery()).key_prefix) + entry_name(schedule_id)


def load_entry(schedule_id: str) -> RedBeatSchedulerEntry | None:
    try:
        return RedBeatSchedulerEntry.from_key(_entry_key(schedule_id), app=queue.celery())
    except KeyError:
        return None


def mirror(schedule: Schedule) -> None:
    """Make the RedBeat entry match the row: saved when enabled, removed when not."""
    existing = load_entry(schedule.id)
    if not schedule.enabled:
        if existing is not None:
            existing.delete()
        return
    entry = RedBeatSchedulerEntry(
        name=entry_name(schedule.id),
        task=names.RUN_SCHEDULE_TASK,
        schedule=parse_cron(schedule.cron),
        args=[schedule.id],
        app=queue.celery(),
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
def mirror_lock() -> Iterator[None]:
    """One writer of the mirror at a time: an API change and a sync can't interleave and leave
    Redis with the older definition."""
    with get_redis().lock(names.SCHEDULES_LOCK, timeout=30, blocking_timeout=10):
        yield


def sync_one(schedule_id: str) -> None:
    """Make one schedule's entry match its committed row (removed when the row is gone)."""
    with mirror_lock(), session_scope(read_only=True) as session:
        schedule = repository.get(session, schedule_id)
        if schedule is None:
            remove_entry(schedule_id)
        else:
            mirror(schedule)


def sync_all() -> dict[str, int]:
    """Rebuild every schedule's RedBeat entry from the database; drop entries of deleted ones."""
    with mirror_lock(), session_scope() as session:
        rows = repository.all_schedules(session)
        for schedule in rows:
            mirror(schedule)
        known = {_entry_key(s.id) for s in rows}
        conf = ensure_conf(queue.celery())
        client = redbeat_redis(queue.celery())
        orphans = 0
        for key in client.zrange(conf.schedule_key, 0, -1):
            if key.startswith(_entry_key("")) and key not in known:
                client.zrem(conf.schedule_key, key)
                client.delete(key)
                orphans += 1
    return {"schedules": len(rows), "orphans_removed": orphans}


