"""The checkpoint between streamed chunks, on a real database and Redis, no worker: what stops a
stream (a cancel in Redis or only in the database, a lost lease, the deadline) and what keeps it
alive (the heartbeat extends the lease through a long silent gap)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.batches import cancel_flags, service, state
from app.batches.generation.checkpoint import Cancelled, Checkpoint, DeadlineExceeded, LeaseLost
from app.batches.models import AIGenerationTask, GenerationItem
from app.core import names
from app.core.db import session_scope
from app.core.models import utcnow
from app.core.redis import get_redis
from tests.support.stack import wait_for

LEASE = 3


@pytest.fixture
def claimed(db: str) -> Iterator[GenerationItem]:
    """An item of a fresh batch, claimed by worker "w/1" with a 3 s lease."""
    with session_scope() as session:
        batch = service.create_batch(session, ["Checked title"], "guide", language="en")
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=LEASE)
        assert item is not None
        session.expunge(item)
    cancel_flags.forget(item.task_id)
    yield item


def _fast(checkpoint: Checkpoint) -> Checkpoint:
    checkpoint.heartbeat_every = 0.05  # beat often, so the test waits milliseconds, not a second
    checkpoint.cancel_every = 0.0
    return checkpoint


def _stops(checkpoint: Checkpoint) -> bool:
    try:
        checkpoint(10)
    except Cancelled:
        return True
    return False


def _lease_expiry(item_id: int) -> object:
    with session_scope() as session:
        found = session.get(GenerationItem, item_id)
        assert found is not None
        return found.lease_expires_at


def test_a_running_item_passes_its_checkpoints(claimed):
    with _fast(Checkpoint(claimed, "w/1", time.monotonic() + 60)) as checkpoint:
        for _ in range(100):
            checkpoint(10)


def test_the_deadline_stops_the_stream(claimed):
    with Checkpoint(claimed, "w/1", time.monotonic() - 0.001) as checkpoint, \
            pytest.raises(DeadlineExceeded):
        checkpoint(10)


def test_a_cancel_flag_in_redis_stops_the_stream(claimed):
    with _fast(Checkpoint(claimed, "w/1", None)) as checkpoint:
        checkpoint(10)
        get_redis().set(names.cancel_key(claimed.task_id), "1")
        # Seen within a second (a process asks Redis about a batch every CANCEL_MAX_AGE).
        wait_for(lambda: _stops(checkpoint), timeout=1.5, message="the cancel to be seen")


def test_a_cancel_only_in_the_database_stops_the_stream(claimed):
    """Redis lost the flag (or never got it): the heartbeat reads the batch row."""
    with _fast(Checkpoint(claimed, "w/1", None)) as checkpoint:
        with session_scope() as session:
            batch = state.lock_batch(session, claimed.task_id)
            assert isinstance(batch, AIGenerationTask)
            state.cancel_batch(session, batch)
        assert not get_redis().exists(names.cancel_key(claimed.task_id))
        wait_for(lambda: checkpoint.stop is not None, timeout=5, message="the heartbeat")
        with pytest.raises(Cancelled):
            checkpoint(10)


def test_an_item_reclaimed_by_another_worker_stops_this_stream(claimed):
    with _fast(Checkpoint(claimed, "w/1", None)) as checkpoint:
        with session_scope() as session:  # the lease ran out and "w/2" took the item over
            session.execute(update(GenerationItem).where(GenerationItem.id == claimed.id)
                            .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
            assert state.claim_item(session, claimed.id, "w/2", lease=LEASE) is not None
        wait_for(lambda: checkpoint.stop is not None, timeout=5, message="the heartbeat")
        with pytest.raises(LeaseLost):
            checkpoint(10)


def test_the_heartbeat_extends_the_lease_through_a_silent_gap(claimed):
    before = _lease_expiry(claimed.id)
    with _fast(Checkpoint(claimed, "w/1", None)):
        wait_for(lambda: _lease_expiry(claimed.id) != before, timeout=5,
                 message="the lease to be extended")
    with session_scope() as session:
        item = session.get(GenerationItem, claimed.id)
        assert item is not None and item.status == "processing" and item.worker == "w/1"
