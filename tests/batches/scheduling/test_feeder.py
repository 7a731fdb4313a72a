"""The metered dispatcher on a real database and the test Redis, no workers (issue 10).

A registered heartbeat stands for a live worker with N slots; the broker's queue shows what the
feeder sent. Each test asserts what an editor would see: which batch's item goes next.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.batches import service, state
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.scheduling import fairness, feeder
from app.core import names, workers
from app.core.db import get_engine, session_scope
from app.core.models import utcnow
from app.core.redis import get_redis
from tests.support import faults
from tests.support.stack import use_settings


@pytest.fixture(autouse=True)
def _one_margin() -> Iterator[None]:
    use_settings(dispatch_margin=1)
    yield
    use_settings(dispatch_margin=None)


def _slots(n: int, hostname: str = "w@box") -> None:
    """A live worker with `n` slots, read afresh by the next feed: its heartbeat key, written
    to last the whole test (a real one is renewed every 2 s)."""
    info = workers.started_now(hostname, n, "threads", 1)
    get_redis().set(names.worker_key(hostname), json.dumps(asdict(info)), ex=600)
    feeder.forget_capacity()


def _batch(n: int, prefix: str = "T", *, priority: str = "normal", owner: str | None = None,
           ) -> tuple[str, list[int]]:
    with session_scope() as session:
        batch = service.create_batch(session, [f"{prefix} {i}" for i in range(n)], "guide")
        batch.priority, batch.owner = priority, owner
        return batch.id, [i.id for i in batch.items]


def _sent() -> list[int]:
    """Item ids on the broker, oldest first (kombu LPUSHes, workers BRPOP)."""
    ids = []
    for raw in reversed(faults.broker().lrange(names.ITEM_QUEUE, 0, -1)):
        envelope = json.loads(raw)
        if envelope["headers"]["task"] == names.ITEM_TASK:
            ids.append(json.loads(base64.b64decode(envelope["body"]))[0][0])
    return ids


def _drain() -> list[int]:
    ids = _sent()
    faults.broker().delete(names.ITEM_QUEUE)
    return ids


def _finish(*item_ids: int) -> None:
    """Items run and end (failed: the quickest end), freeing their slots."""
    for item_id in item_ids:
        with session_scope() as session:
            item = state.claim_item(session, item_id, "w@box/x", lease=60)
            assert item is not None
            assert state.fail_item(session, item, "done") is not None


def test_only_the_free_slots_and_the_margin_are_sent_and_each_item_once(db):
    _slots(4)
    _, ids = _batch(10)
    report = feeder.feed()
    assert report.sent == 5 and _sent() == ids[:5]  # 4 slots + a margin of 1, in title order
    assert feeder.feed().sent == 0  # nothing freed: nothing more
    _finish(ids[0], ids[1])
    assert feeder.feed().sent == 2 and _sent() == ids[:7]
    with session_scope() as session:
        batch = session.get(AIGenerationTask, _batch_id(ids[0]))
        assert batch is not None and batch.status == "processing"  # started by its first feed


def _batch_id(item_id: int) -> str:
    with session_scope() as session:
        item = session.get(GenerationItem, item_id)
        assert item is not None
        return item.task_id


def test_with_no_live_worker_nothing_is_sent(db):
    _batch(3)
    feeder.forget_capacity()
    assert feeder.feed().sent == 0 and _sent() == []


def test_a_small_batch_takes_the_next_free_slot_from_a_big_one(db):
    _slots(4)
    _, big = _batch(100, "Big")
    assert _drain() == [] and feeder.feed().sent == 5 and _drain() == big[:5]
    _, small = _batch(3, "Small")
    assert feeder.feed().sent == 0  # every slot is taken: the small batch waits for one
    _finish(big[0])
    assert _drain() == [] and feeder.feed().sent == 1
    assert _drain() == [small[0]]  # not big[5]: the big batch holds the other slots
    _finish(big[1], big[2])
    feeder.feed()
    assert sorted(_drain()) == [small[1], small[2]]


def test_high_overtakes_normal_and_low_waits_while_normal_work_waits(db):
    _slots(2)
    _, normal = _batch(20, "Normal")
    feeder.feed()
    _drain()
    _, low = _batch(5, "Low", priority="low")
    _, high = _batch(5, "High", priority="high")
    _finish(*normal[:3])  # three slots free (two running + the margin)
    feeder.feed()
    sent = _drain()
    assert sent[0] == high[0] and not set(sent) & set(low)


def test_owners_share_the_slots_whatever_their_number_of_batches(db):
    _slots(6)
    alice = [_batch(10, f"Alice {n}", owner="alice")[1] for n in range(3)]
    _, bob = _batch(10, "Bob", owner="bob")
    feeder.feed()
    sent = _drain()  # 7 messages: bob gets as many as alice's three batches together, ±1
    from_bob = len(set(sent) & set(bob))
    from_alice = len(set(sent) & {i for ids in alice for i in ids})
    assert from_bob + from_alice == 7 and abs(from_bob - from_alice) <= 1


def test_paused_cancelled_and_not_yet_due_items_stay_in_the_database(db):
    _slots(10)
    paused, _ = _batch(3, "Paused")
    cancelled, _ = _batch(3, "Cancelled")
    _, retry_ids = _batch(2, "Retry")
    with session_scope() as session:
        session.execute(update(AIGenerationTask).where(AIGenerationTask.id == paused)
                        .values(status="paused"))
        service.cancel(session, cancelled)
        session.execute(update(GenerationItem).where(GenerationItem.id == retry_ids[0]).values(
            status="retrying", next_attempt_at=utcnow() + timedelta(seconds=60)))
        session.execute(update(GenerationItem).where(GenerationItem.id == retry_ids[1]).values(
            status="retrying", next_attempt_at=utcnow() - timedelta(seconds=1)))
    feeder.feed()
    assert _sent() == [retry_ids[1]]  # the one whose backoff has passed, nothing else


def test_feeders_racing_from_many_threads_send_each_item_once(db):
    _slots(40)
    _, ids = _batch(30)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(5):
                feeder.feed()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(_sent()) == ids  # all 30 (40 slots), none twice


class _Database:
    """The statements this process sends meanwhile, and which of them write or wait for a turn."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __enter__(self) -> _Database:
        event.listen(get_engine(), "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(get_engine(), "before_cursor_execute", self._statement)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def writes(self) -> list[str]:
        """The statements that write, by verb, and "wait" for those that wait for a lock other
        writers or feeders hold (SQLite's writer lock; PostgreSQL's feeders never wait for
        theirs, they only try it)."""
        out = []
        for statement in self.statements:
            verb = statement.split()[0].upper()
            if statement.startswith("BEGIN IMMEDIATE") or "pg_advisory_xact_lock" in statement:
                out.append("wait")
            elif verb in ("INSERT", "UPDATE", "DELETE"):
                out.append(verb)
        return out

    def on_items(self) -> list[str]:
        return [s for s in self.statements if "generation_items" in s]


def test_an_item_ending_with_nothing_waiting_writes_nothing(db):
    _slots(4)
    _, ids = _batch(2)
    assert feeder.feed().sent == 2
    _finish(*ids)
    with _Database() as database:
        report = feeder.feed()  # what every item's end runs
    assert report.sent == 0 and database.writes() == [] and database.on_items() == []


def test_with_every_slot_busy_a_feed_neither_writes_nor_counts_items(db):
    _slots(2)
    _batch(50, "Big")
    _batch(50, "Other", owner="bob")
    assert feeder.feed().sent == 3  # 2 slots + the margin
    with _Database() as database:
        for _ in range(3):  # the timer's ticks while nothing ends
            assert feeder.feed().sent == 0
    assert database.writes() == [] and database.on_items() == []


def test_a_pick_marks_its_items_in_one_statement_whatever_the_backlog(db):
    _slots(3)
    _, big = _batch(100, "Big")
    _batch(100, "Other", owner="bob")
    feeder.feed()
    _drain()
    _finish(big[0])
    with _Database() as database:
        assert feeder.feed().sent == 1
    waited = [] if db.startswith("postgresql") else ["wait"]  # PostgreSQL: only tried the turn
    assert database.writes() == [*waited, "UPDATE"]
    assert [s.split()[0] for s in database.on_items()] == ["UPDATE"]  # no count, no scan


def test_a_feed_never_waits_for_another_feeders_turn(db, monkeypatch):
    """PostgreSQL: a feed that finds another feeder in its turn leaves the slot it freed to
    that feeder and returns at once; the feeder in its turn looks again after it and fills it."""
    if not db.startswith("postgresql"):
        pytest.skip("SQLite's feeders wait for the writer's lock")
    _slots(2)
    _, ids = _batch(10)
    assert feeder.feed().sent == 3 and _drain() == ids[:3]
    in_turn, go_on = threading.Event(), threading.Event()
    real_pick = fairness.pick
    holder_report: list[feeder.FeedReport] = []

    def pick_slowly(*args: Any, **kwargs: Any) -> list[str]:
        if threading.current_thread() is holder:
            in_turn.set()
            go_on.wait(10)
        return real_pick(*args, **kwargs)

    monkeypatch.setattr(fairness, "pick", pick_slowly)
    holder = threading.Thread(target=lambda: holder_report.append(feeder.feed()))
    _finish(ids[0])
    holder.start()
    assert in_turn.wait(10)
    _finish(ids[1])  # a second slot frees while the first feeder is in its turn
    report = feeder.feed()
    assert report.sent == 0 and report.seconds < 2  # did not wait for the turn
    go_on.set()
    holder.join(10)
    assert holder_report[0].sent == 2 and sorted(_drain()) == ids[3:5]
