"""The state machine on a real database, no workers: each transition and the races it wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.articles.models import Article
from app.batches import service, state
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.core.models import utcnow
from app.llm.base import Generated

DRAFT = Generated(content="# T\n\nBody", provider="test", model="m", prompt_tokens=3,
                  completion_tokens=5)


def _batch(titles: list[str]) -> tuple[str, list[int]]:
    with session_scope() as session:
        batch = service.create_batch(session, titles, "guide")
        return batch.id, [i.id for i in batch.items]


def _status(batch_id: str) -> tuple[str, int, int, int, int]:
    with session_scope() as session:
        b = session.get(AIGenerationTask, batch_id)
        assert b is not None
        return b.status, b.completed, b.failed, b.cancelled, b.progress


def test_claim_takes_a_pending_item_once(db):
    _, (item_id,) = _batch(["One"])
    with session_scope() as session:
        item = state.claim_item(session, item_id, "w/1", lease=60)
        assert item is not None and item.status == "processing" and item.attempts == 1
        assert state.claim_item(session, item_id, "w/2", lease=60) is None


def test_a_claim_whose_lease_ran_out_can_be_taken_over(db):
    _, (item_id,) = _batch(["One"])
    with session_scope() as session:
        assert state.claim_item(session, item_id, "dead/1", lease=60) is not None
        session.execute(update(GenerationItem).values(
            lease_expires_at=utcnow() - timedelta(seconds=1)))
    with session_scope() as session:
        item = state.claim_item(session, item_id, "alive/2", lease=60)
        assert item is not None and item.worker == "alive/2" and item.attempts == 2


def test_items_of_a_cancelled_batch_cannot_be_claimed(db):
    batch_id, (item_id,) = _batch(["One"])
    with session_scope() as session:
        service.cancel(session, batch_id)
    with session_scope() as session:
        assert state.claim_item(session, item_id, "w/1", lease=60) is None
    assert _status(batch_id) == ("cancelled", 0, 0, 1, 100)


def test_complete_stores_one_article_and_recounts(db):
    batch_id, (first, second) = _batch(["One", "Two"])
    with session_scope() as session:
        item = state.claim_item(session, first, "w/1", lease=60)
        assert item is not None
        snapshot = state.complete_item(session, item, "guide", DRAFT)
        assert snapshot is not None and (snapshot.current, snapshot.progress) == (1, 50)
    assert _status(batch_id) == ("processing", 1, 0, 0, 50)
    with session_scope() as session:
        item = state.claim_item(session, second, "w/1", lease=60)
        assert item is not None
        state.complete_item(session, item, "guide", DRAFT)
        assert session.query(Article).count() == 2
    assert _status(batch_id) == ("completed", 2, 0, 0, 100)


def test_a_runner_that_lost_its_claim_cannot_end_the_item(db):
    _, (item_id,) = _batch(["One"])
    with session_scope() as session:
        slow = state.claim_item(session, item_id, "slow/1", lease=60)
        assert slow is not None
        session.execute(update(GenerationItem).values(
            lease_expires_at=utcnow() - timedelta(seconds=1)))
    with session_scope() as session:
        fresh = state.claim_item(session, item_id, "fresh/2", lease=60)
        assert fresh is not None
        assert state.complete_item(session, slow, "guide", DRAFT) is None
        assert state.fail_item(session, slow, "late") is None
        assert not state.retry_item(session, slow, "late", utcnow())
        assert not state.heartbeat(session, item_id, "slow/1", 60)
        assert state.heartbeat(session, item_id, "fresh/2", 60)


@pytest.mark.parametrize(("ends", "final"), [
    (["complete", "complete"], "completed"),
    (["complete", "fail"], "partially_completed"),
    (["fail", "fail"], "failed"),
])
def test_the_last_item_to_end_decides_the_batch_status(db, ends, final):
    batch_id, ids = _batch(["One", "Two"])
    for item_id, end in zip(ids, ends, strict=True):
        with session_scope() as session:
            item = state.claim_item(session, item_id, "w/1", lease=60)
            assert item is not None
            if end == "complete":
                state.complete_item(session, item, "guide", DRAFT)
            else:
                state.fail_item(session, item, "provider said no")
    status = _status(batch_id)
    assert status[0] == final and status[1] + status[2] == 2 and status[4] == 100


def test_retry_keeps_the_item_waiting_with_its_reason(db):
    batch_id, (item_id,) = _batch(["One"])
    due = utcnow() + timedelta(seconds=30)
    with session_scope() as session:
        item = state.claim_item(session, item_id, "w/1", lease=60)
        assert item is not None and state.retry_item(session, item, "503", due)
    with session_scope() as session:
        row = session.get(GenerationItem, item_id)
        assert row is not None and (row.status, row.error) == ("retrying", "503")
        again = state.claim_item(session, item_id, "w/2", lease=60)
        assert again is not None and again.attempts == 2


def test_progress_never_goes_backwards_while_a_batch_runs(db):
    batch_id, ids = _batch(["One", "Two", "Three", "Four"])
    seen = []
    for item_id in ids:
        with session_scope() as session:
            item = state.claim_item(session, item_id, "w/1", lease=60)
            assert item is not None
            snapshot = state.complete_item(session, item, "guide", DRAFT)
            assert snapshot is not None
            seen.append(snapshot.progress)
        with session_scope() as session:  # a recount in between changes nothing
            seen.append(state.refresh_batch(session, batch_id).progress)
    assert seen == sorted(seen) and seen[-1] == 100


def test_reopening_failed_items_starts_them_over(db):
    batch_id, (ok, bad) = _batch(["One", "Two"])
    for item_id, fail in ((ok, False), (bad, True)):
        with session_scope() as session:
            item = state.claim_item(session, item_id, "w/1", lease=60)
            assert item is not None
            if fail:
                state.fail_item(session, item, "nope")
            else:
                state.complete_item(session, item, "guide", DRAFT)
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        assert state.reopen_failed_items(session, batch) == [bad]
    assert _status(batch_id) == ("processing", 1, 0, 0, 50)
    with session_scope() as session:
        row = session.get(GenerationItem, bad)
        assert row is not None and (row.status, row.attempts, row.error) == ("pending", 0, None)
