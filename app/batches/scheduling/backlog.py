"""The backlog's SQL: what the feeder (app.batches.scheduling.feeder) reads and marks, part of the
batches repository kept apart because it is the hot path (a feed runs at every item's end).

An item waits in its batch's *backlog* while `enqueued_at` is NULL; it is *in flight* from the
moment the feeder marks it sent until it ends. Items a provider batch holds are neither: the
Batch API lane runs them (they are `processing` with no lease).

The feeder never counts items. Per batch, `dispatch_counts` holds how many of its items are in
each class below, kept exact by triggers on generation_items (migration 0006) whichever code
moves an item; a read is one row per unfinished batch (two primary-key probes each), however deep
the backlogs. The classes (the triggers compute the same, `item_class` in the migration):

- pending: waiting for its first attempt (a batch-mode batch's are the Batch API lane's);
- handed_back: pending again after the lane handed it back (it carries its provider batch id);
- retrying: waiting for its next attempt, due at `next_attempt_at`;
- in_flight: sent and not claimed yet, or running under a worker's lease.

Only a retry's due time is not in the counts: batches with retries waiting get one grouped count
over the partial index ix_item_retry_due, which holds nothing but waiting retries.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from app.batches.enums import BATCH_FINAL, ITEM_WAITING, BatchMode, BatchStatus, ItemStatus
from app.batches.models import (
    RETRY_WAITING_SQL,
    WAITING_SQL,
    AIGenerationTask,
    DispatchCount,
    GenerationItem,
)
from app.batches.repository import constants, dispatchable
from app.core import names

COUNTS = ("pending", "handed_back", "retrying", "in_flight")
UNFINISHED = set(BatchStatus) - BATCH_FINAL  # an IN list the status index serves


class BatchBacklog(NamedTuple):
    """One unfinished batch as the feeder sees it (a tuple: a feed builds one per batch)."""

    task_id: str
    owner: str | None
    priority: str
    created_at: datetime
    status: str
    mode: str
    dispatchable: bool
    waiting: int  # ready to send now
    running: int  # in flight


def try_turn(session: Session) -> bool:
    """PostgreSQL: the feeders' turn for the rest of this transaction, unless another feeder
    holds it (False then, at once): a transaction-level advisory lock, released by the commit,
    which does not wait for the WAL to reach the disk (`synchronous_commit` off for this
    transaction only). The turn ends sooner, and a crash that loses the marks only leaves those
    items waiting to be sent again, which the claims make harmless (a second message finds its
    item taken). SQLite needs none: a writer's transaction begins with BEGIN IMMEDIATE
    (app.core.db), so writers take turns."""
    return bool(session.execute(_TURN, {"key": names.FEEDER_ADVISORY_LOCK}).scalar())


_TURN = text("SELECT pg_try_advisory_xact_lock(:key), "
             "set_config('synchronous_commit', 'off', true)")


@functools.cache
def _batches_query() -> Any:
    """Every unfinished batch with its counts: its two dispatch_counts rows (see the model)."""
    rows = {w: aliased(DispatchCount, name=f"counts_{w}") for w in ("items", "feeder")}
    batch = AIGenerationTask
    query = select(batch.id, batch.owner, batch.priority, batch.created_at, batch.status,
                   batch.mode, dispatchable().label("dispatchable"))
    for writer, row in rows.items():
        query = query.outerjoin(row, and_(row.task_id == batch.id, row.writer == writer))
    return query.add_columns(*(
        (func.coalesce(getattr(rows["items"], c), 0)
         + func.coalesce(getattr(rows["feeder"], c), 0)).label(c) for c in COUNTS
    )).where(batch.status.in_(constants(UNFINISHED)))


_now = functools.partial(bindparam, "now", type_=GenerationItem.next_attempt_at.type)

# Waiting retries whose backoff has passed, per batch (an index range each, on ix_item_retry_due:
# WAITING_SQL/RETRY_WAITING_SQL are written out so the planners match the partial indexes).
_DUE = (
    select(GenerationItem.task_id, func.count())
    .where(GenerationItem.task_id.in_(bindparam("ids", expanding=True)), text(RETRY_WAITING_SQL),
           or_(GenerationItem.next_attempt_at.is_(None), GenerationItem.next_attempt_at <= _now()))
    .group_by(GenerationItem.task_id)
)


def unfinished_batches(session: Session, now: datetime) -> list[BatchBacklog]:
    """Every batch not ended, with how many of its items are in flight and how many can be sent
    now. A batch-mode batch's pending items are the Batch API lane's, except those it handed
    back."""
    # Core execution, rows as plain tuples: the ORM's result machinery was most of a read's cost.
    connection = session.connection()
    batches = connection.execute(_batches_query()).all()
    retries = [b.id for b in batches if b.retrying]
    due: dict[str, int] = {}
    if retries:
        due.update((task_id, n) for task_id, n in connection.execute(
            _DUE, {"ids": retries, "now": now}))
    return [
        BatchBacklog(task_id, owner, priority, created_at, status, mode, bool(ok),
                     (0 if mode == BatchMode.BATCH else pending) + handed_back
                     + (due.get(task_id, 0) if retrying else 0),
                     in_flight)
        for (task_id, owner, priority, created_at, status, mode, ok, pending, handed_back,
             retrying, in_flight) in batches
    ]


@functools.cache
def _mark_query(lane: bool) -> Any:
    """Mark the batch's next :n ready items sent, in title order, in one statement: an index
    range on ix_item_waiting that stops after :n. PostgreSQL skips rows another transaction
    holds (an item being claimed from the backlog) instead of waiting for it."""
    # A batch-mode batch: only what the lane handed back (it carries its provider batch id).
    lane_only = [GenerationItem.provider_batch_id.is_not(None)] if lane else []
    next_ids = (select(GenerationItem.id)
                .where(GenerationItem.task_id == bindparam("batch_id"), text(WAITING_SQL),
                       or_(GenerationItem.next_attempt_at.is_(None),
                           GenerationItem.next_attempt_at <= _now()), *lane_only)
                .order_by(GenerationItem.index)
                .limit(bindparam("n")).with_for_update(skip_locked=True))
    # Only the ids here: conditions repeated outside made SQLite scan every backlog by them.
    # The subquery's are enough: feeders take turns, and PostgreSQL rechecks them on the rows it
    # locks (one that left the backlog meanwhile is dropped).
    return (
        update(GenerationItem)
        .where(GenerationItem.id.in_(next_ids.scalar_subquery()))
        .values(enqueued_at=_now())
        .returning(GenerationItem.id, GenerationItem.index)
    )


def take(session: Session, batch_id: str, n: int, now: datetime, *, lane: bool = False
         ) -> list[int]:
    """Mark the batch's next `n` ready items as sent (in title order) and return their ids.
    Only items still in the backlog are marked: a second taker gets none of the same items.
    `lane`: the batch is in batch mode (only the items the lane handed back are sent)."""
    rows = session.connection().execute(_mark_query(lane),
                                        {"batch_id": batch_id, "n": n, "now": now}).all()
    return [item_id for item_id, _index in sorted(rows, key=lambda row: row[1])]


def recount(session: Session) -> dict[str, dict[str, int]]:
    """What `dispatch_counts` should hold, counted from the items (a full scan: for tests and
    checks, never the feeder): per batch with any item in a counted class, its counts."""
    item = GenerationItem
    waiting_unsent = and_(item.status.in_(ITEM_WAITING), item.enqueued_at.is_(None))
    classes = {
        "pending": and_(waiting_unsent, item.status == ItemStatus.PENDING,
                        item.provider_batch_id.is_(None)),
        "handed_back": and_(waiting_unsent, item.status == ItemStatus.PENDING,
                            item.provider_batch_id.is_not(None)),
        "retrying": and_(waiting_unsent, item.status == ItemStatus.RETRYING),
        "in_flight": or_(and_(item.status.in_(ITEM_WAITING), item.enqueued_at.is_not(None)),
                         and_(item.status == ItemStatus.PROCESSING,
                              item.lease_expires_at.is_not(None))),
    }
    out: dict[str, dict[str, int]] = {}
    for name, where in classes.items():
        for task_id, n in session.execute(select(item.task_id, func.count()).where(where)
                                          .group_by(item.task_id)):
            out.setdefault(task_id, dict.fromkeys(COUNTS, 0))[name] = n
    return out


def counts(session: Session) -> dict[str, dict[str, int]]:
    """`dispatch_counts` per batch, its two rows summed, leaving out batches whose counts are
    all zero (compare with `recount`)."""
    out: dict[str, dict[str, int]] = {}
    for row in session.scalars(select(DispatchCount)):
        summed = out.setdefault(row.task_id, dict.fromkeys(COUNTS, 0))
        for c in COUNTS:
            summed[c] += getattr(row, c)
    return {k: v for k, v in out.items() if any(v.values())}
