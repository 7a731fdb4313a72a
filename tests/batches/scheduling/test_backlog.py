"""The backlog's counts (app.batches.scheduling.backlog, migration 0006) on a real database.

The feeder trusts `dispatch_counts` instead of counting items, so they must stay exact through
every move an item can make, whoever makes it: each test moves items through the transitions
the service uses (app.batches.state, the Batch API lane, recovery's UPDATE, a retention delete)
and compares the counts with a count of the items after every step.
"""

from __future__ import annotations

import os
import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import delete, update

from app.batches import service, state
from app.batches.enums import ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.provider_lane import lane_state
from app.batches.scheduling import backlog
from app.batches.spend.budget import Refusal
from app.core.db import session_scope
from app.core.models import utcnow
from app.llm.base import Generated
from app.llm.batch_lane import BatchState
from tests.support.stack import ROOT, use_settings, wait_for

DRAFT = Generated(content="# T\n\nBody", provider="test", model="m", prompt_tokens=3,
                  completion_tokens=5)


def _batch(n: int, *, mode: str = "realtime") -> tuple[str, list[int]]:
    with session_scope() as session:
        batch = service.create_batch(session, [f"T {i}" for i in range(n)], "guide")
        batch.mode = mode
        return batch.id, [i.id for i in batch.items]


def _agree() -> dict[str, dict[str, int]]:
    """The counts, after checking them against a count of the items."""
    with session_scope(read_only=True) as session:
        counts, recount = backlog.counts(session), backlog.recount(session)
    assert counts == recount
    return counts


def _claim(item_id: int) -> GenerationItem:
    with session_scope() as session:
        item = state.claim_item(session, item_id, "w@box/1", lease=60)
        assert item is not None
        return item


def _take(batch_id: str, n: int, *, lane: bool = False) -> list[int]:
    with session_scope() as session:
        return backlog.take(session, batch_id, n, utcnow(), lane=lane)


def test_counts_follow_an_item_through_the_worker_transitions(db):
    batch_id, ids = _batch(6)
    assert _agree()[batch_id] == {"pending": 6, "handed_back": 0, "retrying": 0, "in_flight": 0}
    assert _take(batch_id, 3) == ids[:3]
    assert _agree()[batch_id] == {"pending": 3, "handed_back": 0, "retrying": 0, "in_flight": 3}
    done = _claim(ids[0])  # sent → running: no count moves
    _agree()
    with session_scope() as session:
        assert state.complete_item(session, done, "guide", DRAFT) is not None
    _agree()
    with session_scope() as session:
        assert state.fail_item(session, _claim(ids[1]), "gave up") is not None
    _agree()
    with session_scope() as session:  # back in the backlog, due in a minute
        assert state.retry_item(session, _claim(ids[2]), "timeout",
                                utcnow() + timedelta(seconds=60))
    assert _agree()[batch_id] == {"pending": 3, "handed_back": 0, "retrying": 1, "in_flight": 0}
    # A message that outlived its mark (recovery put the item back): claimed from the backlog.
    with session_scope() as session:
        assert state.regenerate_item(session, _claim(ids[3]), "too short", "longer") is not None
    assert _agree()[batch_id] == {"pending": 2, "handed_back": 0, "retrying": 2, "in_flight": 0}


def test_counts_follow_pause_resume_cancel_and_retry_of_failed_items(db):
    batch_id, ids = _batch(5)
    other_id, other = _batch(3)
    _take(batch_id, 3)
    _take(other_id, 2)
    refusal = Refusal(cap="daily", limit_usd=1.0, spent_usd=1.0, amount_usd=0.1,
                      reason="daily budget reached", resume_at=None)
    with session_scope() as session:  # running → pending, and the sent ones back to the backlog
        assert state.pause_item(session, _claim(ids[0]), refusal) is not None
    assert _agree()[batch_id]["in_flight"] == 0
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None and batch.status == "paused"
        state.resume_batch(session, batch)
    _agree()
    _claim(other[0])
    with session_scope() as session:  # one running, one sent, one waiting: all counted out
        service.cancel(session, other_id)
    _agree()
    with session_scope() as session:
        state.fail_batch(session, batch_id, "no provider")
    _agree()
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        assert len(state.reopen_failed_items(session, batch)) == 5
    assert _agree()[batch_id]["pending"] == 5


def test_counts_follow_the_batch_api_lane_and_regeneration_of_an_ended_item(db):
    batch_id, ids = _batch(4, mode="batch")
    with session_scope() as session:  # the lane records its intent, then adopts pb_1
        lane_state.record_intent(session, batch_id, "intent-1", "file-1", ids[:3], None)
    with session_scope() as session:
        assert lane_state.adopt(session, batch_id, "intent-1", BatchState(
            id="pb_1", status="validating", total=3, completed=0, failed=0,
            output_file_id=None, error_file_id=None))
    assert _agree()[batch_id] == {"pending": 1, "handed_back": 0, "retrying": 0, "in_flight": 0}
    with session_scope() as session:
        held = list(session.scalars(sa.select(GenerationItem)
                                    .where(GenerationItem.id.in_(ids[:3]))
                                    .order_by(GenerationItem.id)))
        outcomes = [lane_state.LaneOutcome(held[0], error="refused"),
                    lane_state.LaneOutcome(held[1], error="server error", retry=True),
                    lane_state.LaneOutcome(held[2], error="invalid")]
        lane_state.end_lane_items(session, batch_id, outcomes)
    assert _agree()[batch_id] == {"pending": 1, "handed_back": 0, "retrying": 1, "in_flight": 0}
    with session_scope() as session:  # an editor asks for the failed item again
        batch = state.lock_batch(session, batch_id)
        item = session.get(GenerationItem, ids[0])
        assert batch is not None and item is not None
        assert state.reopen_for_regeneration(session, batch, item, "shorter")
    # It has its provider batch id: the lane handed it back, the feeder may send it.
    assert _agree()[batch_id]["handed_back"] == 1
    with session_scope() as session:
        rows = {r.task_id: r for r in backlog.unfinished_batches(session, utcnow())}
    assert rows[batch_id].waiting == 2  # the handed-back one and the due retry, not the lane's
    assert sorted(_take(batch_id, 10, lane=True)) == sorted([ids[0], ids[1]])


def test_recovery_updates_and_deleted_batches_are_counted(db):
    batch_id, ids = _batch(4)
    _take(batch_id, 4)
    with session_scope() as session:  # what recovery does to messages that never arrived
        session.execute(update(GenerationItem).where(GenerationItem.id.in_(ids[:2]))
                        .values(enqueued_at=None))
    assert _agree()[batch_id]["in_flight"] == 2
    with session_scope() as session:
        session.execute(delete(AIGenerationTask).where(AIGenerationTask.id == batch_id))
    assert _agree() == {}


def test_counts_stay_exact_through_random_transitions(db):
    rng = random.Random(20)
    batches = [_batch(rng.randrange(1, 8)) for _ in range(4)]
    moves = ["take", "claim", "complete", "fail", "retry", "cancel", "requeue"]
    for _ in range(60):
        batch_id, ids = rng.choice(batches)
        item_id = rng.choice(ids)
        move = rng.choice(moves)
        with session_scope() as session:
            item = session.get(GenerationItem, item_id)
            assert item is not None
            if move == "take":
                backlog.take(session, batch_id, rng.randrange(1, 4), utcnow())
            elif move == "claim":
                state.claim_item(session, item_id, f"w@box/{rng.random()}", lease=60)
            elif move == "cancel" and rng.random() < 0.2:
                service.cancel(session, batch_id)
            elif move == "requeue":
                session.execute(update(GenerationItem).where(GenerationItem.id == item_id,
                                                             GenerationItem.status == "pending")
                                .values(enqueued_at=None))
            elif item.status == ItemStatus.PROCESSING:
                if move == "complete":
                    state.complete_item(session, item, "guide", DRAFT)
                elif move == "fail":
                    state.fail_item(session, item, "no")
                else:
                    state.retry_item(session, item, "again", utcnow())
        _agree()


def _alembic(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


@pytest.fixture(params=["sqlite"] + (["postgres"] if os.environ.get("TEST_POSTGRES_URL") else []))
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    admin = os.environ["TEST_POSTGRES_URL"].replace("postgresql://", "postgresql+psycopg://")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = f"ta_test_up_{os.getpid()}"
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def test_the_migration_counts_the_items_already_there(empty_database):
    """An existing database: its waiting and running items are counted by the upgrade, and
    moves after it by the triggers."""
    cfg = _alembic(empty_database)
    before = ScriptDirectory.from_config(cfg).get_revision("0006").down_revision
    assert isinstance(before, str)
    command.upgrade(cfg, before)
    engine = sa.create_engine(empty_database)
    now = utcnow()
    items = sa.table("generation_items", *(sa.column(c) for c in (
        "task_id", "index", "title", "status", "attempts", "regenerations", "enqueued_at",
        "lease_expires_at", "provider_batch_id", "created_at")))
    rows = [("pending", None, None, None), ("pending", now, None, None),
            ("processing", now, now, None), ("retrying", None, None, None),
            ("pending", None, None, "pb"), ("completed", now, None, None),
            ("processing", now, None, "pb")]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO ai_generation_tasks (id, status, category, total, completed, failed, "
            "cancelled, progress, cancel_requested, created_at, priority, language, mode, "
            "cost_usd, cost_unknown, prompt_tokens, completion_tokens, regenerated, "
            "needs_review) VALUES ('b1', 'processing', 'guide', 7, 1, 0, 0, 0, false, :now, "
            "'normal', 'en', 'realtime', 0, 0, 0, 0, 0, 0)"), {"now": now})
        conn.execute(items.insert(), [
            {"task_id": "b1", "index": i, "title": f"T {i}", "status": status, "attempts": 0,
             "regenerations": 0, "enqueued_at": sent, "lease_expires_at": lease,
             "provider_batch_id": lane, "created_at": now}
            for i, (status, sent, lease, lane) in enumerate(rows)])
    engine.dispose()
    try:
        command.upgrade(cfg, "head")
        use_settings(database_url=empty_database)
        assert _agree() == {"b1": {"pending": 1, "handed_back": 1, "retrying": 1,
                                   "in_flight": 2}}
        with session_scope() as session:
            assert backlog.take(session, "b1", 5, utcnow()) != []
        _agree()
    finally:
        use_settings(database_url=os.environ.get("DATABASE_URL"))


def test_a_move_outside_the_batch_lock_waits_for_it_instead_of_deadlocking(db):
    """PostgreSQL: a retry counted while another transaction holds the batch's row lock (a
    completion, which then counts its own item) waits for that transaction; without the
    batch's lock taken first the two would deadlock (recovery retries and then fails items of
    one batch in one transaction)."""
    if not db.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    batch_id, ids = _batch(2)
    running = [_claim(ids[0]), _claim(ids[1])]
    retried = threading.Event()
    errors: list[BaseException] = []

    def recovery() -> None:
        try:
            with session_scope() as session:
                state.retry_item(session, running[1], "lost", utcnow())
                retried.set()
                state.lock_batch(session, batch_id)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
            retried.set()

    with session_scope() as session:
        assert state.lock_batch(session, batch_id) is not None
        other = threading.Thread(target=recovery)
        other.start()
        wait_for(lambda: retried.is_set() or _waiting_on_a_lock(), timeout=10,
                 message="the other transaction to move or wait")
        assert state.complete_item(session, running[0], "guide", DRAFT) is not None
    other.join(20)
    assert errors == [] and not other.is_alive()
    assert _agree()[batch_id]["retrying"] == 1


def _waiting_on_a_lock() -> bool:
    with session_scope(read_only=True) as session:
        return bool(session.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")))
