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

Safe from many processes at once: feeders take turns inside the database
(backlog.serialize_feeders: SQLite's writer lock, PostgreSQL's transaction-level advisory lock),
for the pick alone. A feed first looks at the counts without a turn; most end there (an item's
end with nothing waiting, the timer with every slot busy), with no write transaction. With
something to send it takes the turn, reads the counts again (so it sees what the feeder before
it sent, and none over-sends), picks, marks, and its commit ends the turn; the messages go out
after it. A lock in Redis would cost three to five Redis commands a feed, and a feed runs at
every item's end; a turn in the database costs none. The
database is the truth: the fairness state in Redis is only a memory of deficits (losing it
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
    report, ticket = _feed_once(client)
    # PostgreSQL: feeds that came during this one's turn did not wait for it, they left their
    # freed slots to it: look again while some did (a few times; the timer covers the rest).
    for _ in range(EXTRA_TURNS):
        if ticket is None or _wanted(client) == ticket:
            break
        more, ticket = _feed_once(client)
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
    """One look and, when it is worth one, one turn. With the turn taken on PostgreSQL, also
    the count of wanted turns as it stood before (None: no turn was taken)."""
    now = utcnow()
    capacity = _capacity.slots(client)
    # No batch can take more than every slot.
    slots = capacity + margin(capacity) if capacity else 0
    # A look first, without the turn: most feeds (an item's end with nothing waiting, the timer
    # with every slot busy) end here, with no write and nobody kept waiting. On SQLite in a
    # read-only transaction of its own (a writer's begins with the lock); on PostgreSQL in the
    # one the turn goes on in (a read locks nothing there; one connection, one BEGIN, saved).
    apart = get_engine().dialect.name == "sqlite"
    with session_scope(read_only=apart) as session:
        look = _Look.read(session, now, capacity, slots)
        if not look.worth_a_turn(client, now):
            return look.report, None
        if not apart:
            # Never wait for another feeder: count this feed as wanting a turn, and if the
            # turn is taken, leave the freed slots to its holder, who looks again after it.
            ticket = int(client.incr(names.FEED_WANTED_KEY))  # type: ignore[arg-type]
            if not backlog.try_turn(session):
                return look.report, None
            return _turn(session, client, now, capacity, slots), ticket
    with session_scope() as session:  # SQLite: waits for the writer's lock
        backlog.serialize_feeders(session)
        return _turn(session, client, now, capacity, slots), None


def _wanted(client: redis.Redis) -> int:
    return int(client.get(names.FEED_WANTED_KEY) or 0)  # type: ignore[arg-type]


def _turn(session: Session, client: redis.Redis, now: datetime, capacity: int,
          slots: int) -> FeedReport:
    """The feeders' turn, taken: read the counts again (with what the feeders before sent),
    pick and mark. The commit ends it; the messages go out after."""
    look = _Look.read(session, now, capacity, slots)
    if not look.pickable:
        return look.report
    picks = _pick(client, look.candidates, look.free, now)
    sent = _take(session, picks, now, look.pending, look.lane)
    look.report.sent = len(sent)
    if sent:
        log.debug("feeder: sent %d item(s) (%d slot(s), %d in flight before)", len(sent),
                  capacity, look.report.in_flight)
    return look.report


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
        has time to account for (a call with no slot does only that)."""
        return any(r.waiting for r in self.rows) and (self.free > 0 or len(self.rows) >= 2)

    def worth_a_turn(self, client: redis.Redis, now: datetime) -> bool:
        """Whether to take the feeders' turn: there is something to send, or, with no free slot,
        the fairness memory would change by more than the deficits the next pick accrues anyway
        (fairness.FairState.settled)."""
        if not self.pickable:
            return False
        if self.free > 0:
            return True
        memory = fairness.FairState.from_json(client.get(names.FAIR_STATE_KEY))  # type: ignore[arg-type]
        return not memory.settled(self.candidates, now, max_age=STALE_STATE_S / 2)


def _candidate(row: backlog.BatchBacklog) -> fairness.Candidate:
    return fairness.Candidate(
        batch_id=row.task_id, owner=row.owner,
        priority=fairness.Priority(row.priority or fairness.Priority.NORMAL),
        waiting=row.waiting, running=row.running, created_at=row.created_at,
    )


def _pick(client: redis.Redis, candidates: list[fairness.Candidate], free: int,
          now: datetime) -> list[str]:
    """The batch of each of the next `free` items. With one batch there is nothing to share,
    and its state is neither read nor written (two Redis commands saved per item)."""
    if len(candidates) == 1:
        return fairness.pick(candidates, free, fairness.FairState(), now)
    memory = fairness.FairState.from_json(client.get(names.FAIR_STATE_KEY))  # type: ignore[arg-type]
    if memory.at is not None and fairness.seconds(now) - memory.at > STALE_STATE_S:
        memory = fairness.FairState()
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
