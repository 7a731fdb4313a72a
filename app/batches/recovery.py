"""Find work that a dead worker or a lost message left behind, and put it back in the queue.

Runs periodically from beat. Everything here is safe to repeat: re-enqueuing an item that is in
fact still queued only adds a message whose claim will fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from sqlalchemy import and_, or_, select, update

from app.batches import dispatch, repository, state
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import announce
from app.config import get_settings
from app.core import names
from app.core.db import session_scope
from app.core.models import utcnow
from app.core.redis import broker_client

log = logging.getLogger(__name__)


@dataclass
class ReapReport:
    expired_leases: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)
    redispatched_batches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        return {k: list(v) for k, v in self.__dict__.items()}


def queue_length(queue: str = names.ITEM_QUEUE) -> int | None:
    client = broker_client()
    try:
        return int(client.llen(queue))  # type: ignore[arg-type]
    except redis.RedisError:
        return None
    finally:
        client.close()


def reap() -> ReapReport:
    settings = get_settings()
    report = ReapReport()
    now = utcnow()
    grace = timedelta(seconds=settings.reaper_pending_grace)
    max_attempts = settings.llm_max_retries + 1
    with session_scope() as session:
        # 1. Leases that ran out: the worker died (or hung) mid-item.
        expired = session.scalars(
            select(GenerationItem).where(
                GenerationItem.status == ItemStatus.PROCESSING,
                GenerationItem.lease_expires_at < now,
            )
        ).all()
        for item in expired:
            report.expired_leases.append(item.id)
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
            elif state.retry_item(session, item, "worker lost; retrying", now):
                report.requeued.append(item.id)
        session.execute(
            update(GenerationItem)
            .where(GenerationItem.id.in_(report.requeued))
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        dispatch.enqueue_items(session, report.requeued)

    # 2. Waiting items whose message was lost (e.g. Redis restarted without persistence).
    #    Only when the queue is empty: otherwise they may simply be waiting their turn.
    if queue_length() == 0:
        with session_scope() as session:
            lost = list(
                session.scalars(
                    select(GenerationItem.id)
                    .join(AIGenerationTask)
                    .where(
                        repository.dispatchable(),  # not cancelled, ended or paused
                        or_(
                            and_(
                                GenerationItem.status == ItemStatus.PENDING,
                                GenerationItem.enqueued_at < now - grace,
                            ),
                            and_(
                                GenerationItem.status == ItemStatus.RETRYING,
                                GenerationItem.next_attempt_at < now - grace,
                                GenerationItem.enqueued_at < now - grace,
                            ),
                        ),
                    )
                    .limit(1000)
                )
            )
            if lost:
                session.execute(
                    update(GenerationItem)
                    .where(GenerationItem.id.in_(lost))
                    .values(enqueued_at=now)
                    .execution_options(synchronize_session=False)
                )
            report.requeued.extend(lost)
            dispatch.enqueue_items(session, lost)
            # 3. Batches whose own message was lost before any item was enqueued.
            stale = session.scalars(
                select(AIGenerationTask.id).where(
                    AIGenerationTask.status == BatchStatus.PENDING,
                    AIGenerationTask.created_at < now - grace,
                )
            ).all()
            report.redispatched_batches.extend(stale)

    for batch_id in report.redispatched_batches:
        dispatch.dispatch_batch(batch_id)
    if report.requeued or report.gave_up or report.redispatched_batches:
        log.warning("reaper: %s", report.as_dict())
    return report
