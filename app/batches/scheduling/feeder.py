"""The metered dispatcher: keep about as many item messages on the broker as there are free slots.

A batch's items wait in the database, its *backlog* (`enqueued_at IS NULL`). `feed()` counts the
free worker slots (the live workers' concurrency from app.core.workers, minus the items in
flight, plus a small margin so no slot idles between two feeds), asks
app.batches.scheduling.fairness which
batches the next items come from (deficit round robin across owners, then batches, by priority),
marks those items sent and sends their messages after the commit. Celery stays the engine: what
changes is what is on its queue, and when.

It runs when an item ends (app.batches.tasks), when work arrives or comes back (`kick`: a new
batch, a resume, a retry of failed items, a regeneration, recovery) and every second in each
worker's maintenance loop (app/worker/loop.py), whichever comes first.

A feed costs the same however deep the backlogs: it reads one row of counts per unfinished
batch (app.batches.scheduling.backlog: `dispatch_counts`, kept by triggers), never the items,
and marks each picked batch's next items with one UPDATE over an index of the waiting items.

Safe from many processes at once: feeders take turns inside the database, for the pick alone,
and a turn reads the counts afresh, so each sees what the one before it sent and none
over-sends.
- PostgreSQL (backlog.try_turn: a transaction-level advisory lock): a feeder never waits for
  the turn. One that finds it taken counts itself in Redis (names.FEED_WANTED_KEY) and leaves
  its work (the slot its item freed, the items that arrived) to the holder, which looks again
  after its turn while that count moved. An item's end costs one read and no write when
  nothing waits.
- SQLite (its writer's lock, which every writer waits for: a writer's transaction begins with
  BEGIN IMMEDIATE, app.core.db): a feed first looks at the counts in a read-only transaction;
  most end there (an item's end with nothing waiting, the timer with every slot busy) without
  the lock. With something to send it takes the lock and reads the counts again.
The messages go out after the commit that ends the turn. A lock in Redis would cost three to
five Redis commands a feed, and a feed runs at every item's end; a turn in the database costs
none. The database is the truth: the fairness state in Redis is only a memory of deficits (losing it
costs nothing but the rotation of ties), a message lost with Redis is found by recovery
(app.batches.scheduling.recovery puts its item back in the backlog), and the claims keep every item
exactly-once whatever is sent twice.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy.orm import Session

from app.batches import state, work
from app.batches.enums import BatchMode, BatchStatus
from app.batches.progress import Snapshot, announce
from app.batches.scheduling import backlog, fairness
from app.config import get_settings
from app.core import names, outbox, workers
from app.core.db import get_engine, session_scope
from app.core.models import utcnow
from app.core.redis import get_redis

log = logging.getLogger(__name__)

STALE_STATE_S = 10.0  # fairness memory older than this (one batch ran alone meanwhile) is dropped
SETTLED_S = STALE_STATE_S / 2  # with no free slot, the memory is kept at least this often
CAPACITY_CACHE_S = 1.0  # how long a process trusts its read of the worker registry
EXTRA_TURNS = 4  # turns a feed takes again for the feeds that left theirs to it (PostgreSQL)


@dataclass
class FeedReport:
    sent: int = 0
    capacity: int = 0
    in_flight: int = 0
    candidates: int = 0
    seconds: float = 0.0


def margin(capacity: int) -> int:
    """Messages beyond the free slots: DISPATCH_MARGIN, or a tenth of the slots (at least 2)."""
    configured = get_settings().dispatch_margin
    return configured if configured > 0 else max(2, math.ceil(capacity / 10))


class _Capacity:
    """The fleet's slot count, read from the worker registry at most once per CAPACITY_CACHE_S
    in this process (two Redis commands a read; a feed runs at every item's end)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = -math.inf
        self._slots = 0

    def slots(self, client: redis.Redis) -> int:
        with self._lock:
            if time.monotonic() - self._at >= CAPACITY_CACHE_S:
                self._slots = sum(w.concurrency for w in workers.alive(client).values())
                self._at = time.monotonic()
            return self._slots

    def forget(self) -> None:
        with self._lock:
            self._at = -math.inf


_capacity = _Capacity()


def forget_capacity() -> None:
    """Read the worker registry afresh at the next feed (a worker just started, or a test)."""
    _capacity.forget()


def feed() -> FeedReport:
    """Top the broker up to the free slots, fairly. Safe to call from anywhere, at any time."""
    started = time.perf_counter()
    client = get_redis()
    report, seen = _feed_once(client)
    # PostgreSQL: feeds that found this one in its turn did not wait for it, they left their
    # freed slots to it: look again while some did (a few times; the timer covers the rest).
    for _ in range(EXTRA_TURNS):
        if seen is None or _wanted(client) == seen:
            break
        more, seen = _feed_once(client)
        report.sent += more.sent
    report.seconds = time.perf_counter() - started
    return report


def feed_quietly() -> None:
    """`feed()` for after a commit or a task: the work is safe in the database whatever
    happens here, and the timer feeds again within a second."""
    try:
        feed()
    except Exception as exc:  # Redis or the database away: logged, the next feed catches up
        log.warning("feeder: could not feed the workers now: %s", exc)


def enqueue_items(session: Session, item_ids: list[int]) -> None:
    """Queue one message per item once `session` commits (the items are marked sent)."""
    for item_id in item_ids:
        # ignore_result: otherwise the sender SUBSCRIBEs to each item's result channel (one
        # Redis command per item, and subscriptions that are never released).
        outbox.enqueue(session, names.ITEM_TASK, [item_id], ignore_result=True)


def kick(session: Session) -> None:
    """Feed once `session` commits: work arrived in (or came back to) a backlog."""
    work.arrived(session)


# Modules below this one announce work through app.batches.work; this process feeds then.
work.subscribe(feed_quietly)


def _feed_once(client: redis.Redis) -> tuple[FeedReport, int | None]:
    """One feed. On PostgreSQL with the turn taken, also the count of wanted turns as the turn
    began (None: no turn was taken)."""
    now = utcnow()
    capacity = _capacity.slots(client)
    # No batch can take more than every slot.
    slots = capacity + margin(capacity) if capacity else 0
    if get_engine().dialect.name == "postgresql":
        with session_scope() as session:
            # Never wait for another feeder, so no look first: take the turn if it is free;
            # else say so (`wanted`) and try once more: its holder has either just left it or
            # will look again after it, for this feed's freed slots too.
            if not backlog.try_turn(session):
                client.incr(names.FEED_WANTED_KEY)
                if not backlog.try_turn(session):
                    return FeedReport(capacity=capacity), None
            return _turn(session, client, now, capacity, slots)
    # SQLite: a look first, in a read-only transaction: most feeds (an item's end with nothing
    # waiting, the timer with every slot busy) end there, without the writer's lock that every
    # writer waits for. Else the turn: a writer's transaction, which waits for that lock.
    with session_scope(read_only=True) as session:
        look = _Look.read(session, now, capacity, slots)
    if not look.pickable or (not look.free and _memory(client.get(names.FAIR_STATE_KEY), now)
                             .settled(look.candidates, now, SETTLED_S)):
        return look.report, None
    with session_scope() as session:  # the turn: BEGIN IMMEDIATE at its first statement
        return _turn(session, client, now, capacity, slots)[0], None


def _wanted(client: redis.Redis) -> int:
    return int(client.get(names.FEED_WANTED_KEY) or 0)  # type: ignore[arg-type]


def _turn(session: Session, client: redis.Redis, now: datetime, capacity: int,
          slots: int) -> tuple[FeedReport, int]:
    """The feeders' turn, taken: read the counts (with what the feeders before sent), pick
    and mark; the commit ends it and the messages go out after. With no free slot, the pick
    only keeps the fairness memory, and only when it would change by more than the deficits
    the next pick accrues anyway (fairness.FairState.settled). Also returns the count of wanted
    turns, read before the counts: a feed that wants a turn after it is seen after this one."""
    stored, wanted = client.mget(names.FAIR_STATE_KEY, names.FEED_WANTED_KEY)
    look = _Look.read(session, now, capacity, slots)
    if not look.pickable:
        return look.report, int(wanted or 0)
    memory = _memory(stored, now)
    if not look.free and memory.settled(look.candidates, now, SETTLED_S):
        return look.report, int(wanted or 0)
    picks = _pick(client, look.candidates, look.free, now, memory)
    sent = _take(session, picks, now, look.pending, look.lane)
    look.report.sent = len(sent)
    if sent:
        log.debug("feeder: sent %d item(s) (%d slot(s), %d in flight before)", len(sent),
                  capacity, look.report.in_flight)
    return look.report, int(wanted or 0)


@dataclass
class _Look:
    """The unfinished batches as one read of their counts shows them, and what a feed can do."""

    rows: list[backlog.BatchBacklog]  # the dispatchable ones
    report: FeedReport
    free: int
    pending: set[str]  # batches not started yet: their first pick starts them
    lane: set[str]  # batch-mode batches (only the items the lane handed back are sent)

    @classmethod
    def read(cls, session: Session, now: datetime, capacity: int, slots: int) -> _Look:
        rows = backlog.unfinished_batches(session, now)
        in_flight = sum(r.running for r in rows)
        dispatchable = [r for r in rows if r.dispatchable]
        return cls(rows=dispatchable,
                   report=FeedReport(capacity=capacity, in_flight=in_flight,
                                     candidates=len(dispatchable)),
                   free=max(0, slots - in_flight),
                   pending={r.task_id for r in rows if r.status == BatchStatus.PENDING},
                   lane={r.task_id for r in rows if r.mode == BatchMode.BATCH})

    @functools.cached_property
    def candidates(self) -> list[fairness.Candidate]:
        return [_candidate(r) for r in self.rows]

    @property
    def pickable(self) -> bool:
        """Something waits, and a slot is free or the fairness memory of two or more batches
        has time to account for (a pick with no slot does only that)."""
        return any(r.waiting for r in self.rows) and (self.free > 0 or len(self.rows) >= 2)


def _memory(stored: bytes | None, now: datetime) -> fairness.FairState:
    """The fairness memory as stored, or a fresh one when it is stale."""
    memory = fairness.FairState.from_json(stored)
    if memory.at is not None and fairness.seconds(now) - memory.at > STALE_STATE_S:
        return fairness.FairState()
    return memory


def _candidate(row: backlog.BatchBacklog) -> fairness.Candidate:
    return fairness.Candidate(
        batch_id=row.task_id, owner=row.owner,
        priority=fairness.Priority(row.priority or fairness.Priority.NORMAL),
        waiting=row.waiting, running=row.running, created_at=row.created_at,
    )


def _pick(client: redis.Redis, candidates: list[fairness.Candidate], free: int,
          now: datetime, memory: fairness.FairState) -> list[str]:
    """The batch of each of the next `free` items. With one batch there is nothing to share,
    and the memory is not written (a Redis command saved)."""
    if len(candidates) == 1:
        return fairness.pick(candidates, free, fairness.FairState(), now)
    picks = fairness.pick(candidates, free, memory, now)
    client.set(names.FAIR_STATE_KEY, memory.to_json(), ex=3600)
    return picks


def _take(session: Session, picks: list[str], now: datetime, pending: set[str],
          lane: set[str]) -> list[int]:
    """Mark the picked items sent, start the batches that were pending, and queue the messages
    in the picks' order for after the commit."""
    by_batch: dict[str, list[int]] = {}
    for batch_id, n in Counter(picks).items():
        if batch_id in pending:  # its first items: pending → processing (and tell the page)
            batch = state.start_batch(session, batch_id)
            if batch is not None:
                announce(session, Snapshot.of(batch))
        by_batch[batch_id] = backlog.take(session, batch_id, n, now,
                                           lane=batch_id in lane)
    ordered: list[int] = []
    for batch_id in picks:  # the dispatch order fairness chose, not batch by batch
        ids = by_batch[batch_id]
        if ids:
            ordered.append(ids.pop(0))
    enqueue_items(session, ordered)
    return ordered
