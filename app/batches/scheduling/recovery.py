"""Find work that a dead worker or a lost message left behind, and put it back in its backlog.

`reap` runs every couple of seconds in each worker's maintenance loop (app/worker/loop.py, one
worker at a time under a Redis lock) and, when beat runs, as its task `reap_stuck_items` too:
the same code either way. It never sends item messages itself: it puts items back in their
batch's backlog and kicks the feeder (app.batches.scheduling.feeder), which sends them as slots
free up.
Everything here is safe to repeat: an item put back whose message was in fact still queued only
gets a second message, whose claim will fail.

What it looks for, in order:
1. Redis lost its data (the broker's epoch key is gone, app/core/epoch.py): every waiting
   item's message may be gone with it, whether or not the queue has refilled since.
2. Items whose lease ran out: the backstop for a worker that hangs while its heartbeat lives.
3. Items whose worker's heartbeat key is gone (app/core/workers.py): taken back at once.
4. With an empty queue, items still waiting `REAPER_PENDING_GRACE` after being enqueued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.batches import repository, state
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import announce
from app.batches.scheduling import feeder, launch
from app.config import get_settings
from app.core import epoch, names, workers
from app.core.db import session_scope
from app.core.models import utcnow
from app.core.redis import broker_client, get_redis

log = logging.getLogger(__name__)

CHUNK = 1000  # items re-enqueued per transaction


@dataclass
class ReapReport:
    expired_leases: list[int] = field(default_factory=list)
    dead_workers: list[str] = field(default_factory=list)  # hostnames whose items came back
    requeued: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)
    redispatched_batches: list[str] = field(default_factory=list)
    redis_lost: bool = False

    def as_dict(self) -> dict[str, list | bool]:
        return {k: list(v) if isinstance(v, list) else v for k, v in self.__dict__.items()}


def queue_length(queue: str = names.ITEM_QUEUE) -> int | None:
    client = broker_client()
    try:
        return int(client.llen(queue))  # type: ignore[arg-type]
    except redis.RedisError:
        return None
    finally:
        client.close()


def broker_lost_data() -> bool:
    """True once after the broker's Redis came back empty (or on its first use ever)."""
    client = broker_client()
    try:
        return epoch.age(client, names.EPOCH_KEY) == epoch.MISSING
    except redis.RedisError as exc:  # away: its messages are not lost yet, only out of reach
        log.warning("recovery: the broker cannot be read: %s", exc)
        return False
    finally:
        client.close()


def reap() -> ReapReport:
    report = ReapReport(redis_lost=broker_lost_data())
    now = utcnow()  # one instant: items taken back below are enqueued at it, not before it
    with session_scope() as session:
        _take_back_lost_claims(session, report, now)  # retrying: back in their backlog

    if report.redis_lost:
        log.warning("recovery: the broker's epoch key was missing (Redis restarted empty, or "
                    "its first use): re-enqueuing every waiting item from the database")
        _requeue_waiting(report, now, grace=None)
    elif queue_length() == 0:
        # Waiting items with a message that never arrived or died without a trace of Redis
        # losing its data: only when the queue is empty, or they may simply be waiting their turn.
        grace = timedelta(seconds=get_settings().reaper_pending_grace)
        _requeue_waiting(report, now, grace=grace)

    for batch_id in report.redispatched_batches:
        launch.launch_batch(batch_id)
    if report.requeued:
        feeder.feed_quietly()
    if report.requeued or report.gave_up or report.redispatched_batches:
        log.warning("reaper: %s", report.as_dict())
    return report


def _take_back_lost_claims(session: Session, report: ReapReport, now: datetime) -> None:
    """Processing items whose lease ran out (2) or whose worker is gone (3)."""
    settings = get_settings()
    expired = session.scalars(
        select(GenerationItem).where(
            GenerationItem.status == ItemStatus.PROCESSING,
            GenerationItem.lease_expires_at < now,
        )
    ).all()
    for item in expired:
        report.expired_leases.append(item.id)
        _take_back(session, item, report, now, "worker lost (its lease ran out); retrying")

    try:
        alive = workers.alive_settled(get_redis())
    except redis.RedisError as exc:
        log.warning("recovery: the worker registry cannot be read: %s", exc)
        return
    if alive is None:
        return  # the registry's Redis is new or came back empty: keys are being written again
    # A claim renewed in the last HEARTBEAT_TTL seconds is not judged yet: a worker that claims
    # an item as it starts may not have written its first heartbeat key at that instant.
    settled = now + timedelta(seconds=settings.item_lease_seconds - workers.HEARTBEAT_TTL)
    claimed = session.scalars(
        select(GenerationItem).where(
            GenerationItem.status == ItemStatus.PROCESSING,
            GenerationItem.worker.contains("/"),  # a task's claim, `hostname/token`
            GenerationItem.lease_expires_at < settled,
            GenerationItem.lease_expires_at >= now,  # expired ones were taken back above
        )
    ).all()
    for item in claimed:
        hostname = workers.hostname_of(item.worker)
        if hostname is None or hostname in alive:
            continue
        if hostname not in report.dead_workers:
            report.dead_workers.append(hostname)
        _take_back(session, item, report, now,
                   f"worker lost ({hostname} stopped its heartbeat); retrying")


def _take_back(session: Session, item: GenerationItem, report: ReapReport, now: datetime,
               reason: str) -> None:
    max_attempts = get_settings().llm_max_retries + 1
    if item.attempts >= max_attempts:
        snapshot = state.fail_item(
            session,
            item,
            f"gave up after {item.attempts} attempts: the worker was lost each time "
            "(killed, out of memory or past the hard time limit)",
        )
        if snapshot is not None:
            announce(session, snapshot)
            report.gave_up.append(item.id)
    elif state.retry_item(session, item, reason, now):
        report.requeued.append(item.id)


def _requeue_waiting(report: ReapReport, now: datetime, grace: timedelta | None) -> None:
    """Put back in their backlog the waiting items whose message may be gone (1, 4), and
    dispatch the batches whose own message may be gone. `grace=None`: all of them (Redis lost
    its data)."""
    waiting = [
        GenerationItem.status == ItemStatus.PENDING,
        GenerationItem.status == ItemStatus.RETRYING,
    ]
    if grace is not None:
        waiting = [
            and_(waiting[0], GenerationItem.enqueued_at < now - grace),
            and_(waiting[1], GenerationItem.next_attempt_at < now - grace,
                 GenerationItem.enqueued_at < now - grace),
        ]
    after = 0
    while True:
        with session_scope() as session:
            ids = list(session.scalars(
                select(GenerationItem.id)
                .join(AIGenerationTask)
                .where(
                    repository.dispatchable(),  # not cancelled, ended or paused
                    GenerationItem.enqueued_at.is_not(None),  # NULL: not dispatched yet
                    GenerationItem.enqueued_at < now,
                    GenerationItem.id > after,
                    or_(*waiting),
                )
                .order_by(GenerationItem.id)
                .limit(CHUNK)
            ))
            if ids:  # a retry keeps its next_attempt_at: the feeder sends it once it is due
                state.requeue_unsent(session, ids, sent_before=now)
            report.requeued.extend(ids)
        if len(ids) < CHUNK or grace is not None:  # the empty-queue pass does one chunk a run
            break
        after = ids[-1]

    with session_scope() as session:
        pending = select(AIGenerationTask.id).where(AIGenerationTask.status == BatchStatus.PENDING)
        if grace is not None:
            pending = pending.where(AIGenerationTask.created_at < now - grace)
        report.redispatched_batches.extend(session.scalars(pending).all())

