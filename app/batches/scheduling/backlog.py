"""The backlog's SQL: what the feeder (app.batches.scheduling.feeder) reads and marks, part of the
batches
repository kept apart because it is the hot path (a feed runs at every item's end).

An item waits in its batch's *backlog* while `enqueued_at` is NULL; it is *in flight* from the
moment the feeder marks it sent until it ends. Items a provider batch holds are neither: the
Batch API lane runs them (they are `processing` with no lease).

Every read here is an index range over the few items that matter, never a scan of the whole
backlog: per unfinished batch, its waiting items counted up to the free slots (an index probe on
ix_item_backlog), and a grouped count of the items in flight (at most the slots plus the margin).
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from app.batches.enums import BATCH_FINAL, ITEM_WAITING, BatchMode, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.repository import dispatchable
from app.core import names


@dataclass(frozen=True)
class BatchBacklog:
    """One unfinished batch as the feeder sees it."""

    task_id: str
    owner: str | None
    priority: str
    created_at: datetime
    status: str
    dispatchable: bool
    waiting: int  # ready to send now (counted up to the cap the feeder asked for)
    running: int  # in flight


def serialize_feeders(session: Session) -> None:
    """Make the feeders take turns for the rest of this transaction. SQLite already does: a
    writer's transaction begins with BEGIN IMMEDIATE (app.core.db). PostgreSQL: a
    transaction-level advisory lock, released by the commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": names.FEEDER_ADVISORY_LOCK})


def _now() -> Any:
    return bindparam("now", type_=GenerationItem.next_attempt_at.type)


def _count(kind: str, *where: ColumnElement[bool]) -> Any:  # a Select of (kind, task_id, n)
    return (select(literal(kind).label("kind"), GenerationItem.task_id,
                   func.count().label("n"))
            .where(*where).group_by(GenerationItem.task_id))


@functools.cache
def _in_flight_query() -> Any:  # two grouped counts over the few items in flight
    item = GenerationItem
    return union_all(
        # Sent and not claimed yet.
        _count("sent", item.status.in_(ITEM_WAITING), item.enqueued_at.is_not(None)),
        # Running under a worker's lease (a provider batch's items have none).
        _count("running", item.status == ItemStatus.PROCESSING,
               item.lease_expires_at.is_not(None)),
    )


def _waiting_up_to_cap(*where: ColumnElement[bool]) -> Any:
    """How many of the batch's items match, counting no further than :cap: an index probe per
    batch that reads at most :cap entries, however deep its backlog (the feeder needs no more
    than the free slots from any one batch)."""
    first = (select(literal(1)).where(GenerationItem.task_id == AIGenerationTask.id, *where)
             .limit(bindparam("cap")).correlate(AIGenerationTask).subquery())
    return select(func.count()).select_from(first).scalar_subquery()


_BATCHES = (
    select(
        AIGenerationTask.id, AIGenerationTask.owner, AIGenerationTask.priority,
        AIGenerationTask.created_at, AIGenerationTask.status, AIGenerationTask.mode,
        dispatchable().label("dispatchable"),
        # Waiting for their first attempt (a pending item has no next_attempt_at).
        _waiting_up_to_cap(GenerationItem.status == ItemStatus.PENDING,
                           GenerationItem.enqueued_at.is_(None)).label("pending"),
        # Retries whose backoff has passed.
        _waiting_up_to_cap(GenerationItem.status == ItemStatus.RETRYING,
                           GenerationItem.enqueued_at.is_(None),
                           or_(GenerationItem.next_attempt_at.is_(None),
                               GenerationItem.next_attempt_at <= _now())).label("due"),
    )
    .where(AIGenerationTask.status.notin_(BATCH_FINAL))
)

# A batch-mode batch's pending items are the lane's, except those it handed back (they carry
# their provider batch id) and a budget then put back to pending.
_HANDED_BACK = (
    select(GenerationItem.task_id, func.count())
    .where(GenerationItem.task_id.in_(bindparam("ids", expanding=True)),
           GenerationItem.status == ItemStatus.PENDING, GenerationItem.enqueued_at.is_(None),
           GenerationItem.provider_batch_id.is_not(None))
    .group_by(GenerationItem.task_id)
)


def unfinished_batches(session: Session, now: datetime, cap: int) -> list[BatchBacklog]:
    """Every batch not ended, with its in-flight count and how many items wait, up to `cap`."""
    running: dict[str, int] = Counter()
    for _kind, task_id, n in session.execute(_in_flight_query()):
        running[task_id] += n
    batches = session.execute(_BATCHES, {"now": now, "cap": max(cap, 1)}).all()
    lane = [b.id for b in batches if b.mode == BatchMode.BATCH and (b.pending or b.due)]
    handed_back = dict(session.execute(_HANDED_BACK, {"ids": lane}).all()) if lane else {}
    return [
        BatchBacklog(
            task_id=b.id, owner=b.owner, priority=b.priority, created_at=b.created_at,
            status=b.status, dispatchable=bool(b.dispatchable),
            waiting=(handed_back.get(b.id, 0) if b.mode == BatchMode.BATCH else b.pending)
            + b.due,
            running=running[b.id])
        for b in batches
    ]


def _ready() -> ColumnElement[bool]:
    """Waiting in the backlog and due at :now (a retry's backoff has passed). A batch-mode
    batch's items are the Batch API lane's until the lane hands one back (it then carries its
    provider batch id); a batch that runs in real time instead has its mode set so."""
    return and_(
        GenerationItem.status.in_(ITEM_WAITING),
        GenerationItem.enqueued_at.is_(None),
        or_(GenerationItem.next_attempt_at.is_(None), GenerationItem.next_attempt_at <= _now()),
        or_(AIGenerationTask.mode != BatchMode.BATCH,
            GenerationItem.provider_batch_id.is_not(None)),
    )


_READY_IDS = (
    select(GenerationItem.id)
    .join(AIGenerationTask, AIGenerationTask.id == GenerationItem.task_id)
    .where(GenerationItem.task_id == bindparam("batch_id"), _ready())
    .order_by(GenerationItem.index)
    .limit(bindparam("n"))
)

_MARK_SENT = (
    update(GenerationItem)
    .where(GenerationItem.id.in_(bindparam("ids", expanding=True)),
           GenerationItem.enqueued_at.is_(None), GenerationItem.status.in_(ITEM_WAITING))
    .values(enqueued_at=bindparam("now", type_=GenerationItem.enqueued_at.type))
    .returning(GenerationItem.id)
    .execution_options(synchronize_session=False)
)


def take(session: Session, batch_id: str, n: int, now: datetime) -> list[int]:
    """Mark the batch's next `n` ready items as sent (in title order) and return their ids.
    The `enqueued_at IS NULL` condition makes a second taker get none of the same items."""
    ids = list(session.scalars(_READY_IDS, {"batch_id": batch_id, "n": n, "now": now}))
    if not ids:
        return []
    return list(session.scalars(_MARK_SENT, {"ids": ids, "now": now}))
