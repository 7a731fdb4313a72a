"""`eta_seconds` on /progress: from the rate this batch has kept so far."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.batches import service, state
from app.batches.enums import BatchStatus
from app.batches.models import AIGenerationTask
from app.batches.progress import eta_seconds
from app.core.db import session_scope
from app.llm.base import Generated

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_eta_follows_the_observed_rate():
    # 5 of 20 items ended in 50 s: 15 left at 10 s each.
    assert eta_seconds(T0, T0 + timedelta(seconds=50), 5, 20, final=False) == 150.0
    # SQLite returns naive UTC datetimes; they mean the same instant.
    naive = T0.replace(tzinfo=None)
    assert eta_seconds(naive, T0 + timedelta(seconds=50), 5, 20, final=False) == 150.0
    # No rate before the first item ends, no estimate once the batch is over.
    assert eta_seconds(T0, T0 + timedelta(seconds=50), 0, 20, final=False) is None
    assert eta_seconds(None, T0, 3, 20, final=False) is None
    assert eta_seconds(T0, T0 + timedelta(seconds=50), 20, 20, final=True) is None


def test_a_paused_batch_has_no_eta(api):
    """A batch paused by its budget showed the ETA of the rate it kept before the pause
    (18 s, say) while nothing would run until someone raised the cap."""
    with session_scope() as session:
        batch = service.create_batch(session, ["One", "Two", "Three"], "guide", language="en")
        task_id = batch.id
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        state.complete_item(session, item, "guide", Generated(
            content="# One\n\nBody.", provider="test", model="m"))
    with session_scope() as session:
        stored = session.get(AIGenerationTask, task_id)
        assert stored is not None and stored.started_at is not None
        stored.started_at -= timedelta(seconds=10)
        stored.status = BatchStatus.PAUSED
    progress = api.get(f"/api/tasks/{task_id}/progress").json()
    assert (progress["status"], progress["current"]) == ("paused", 1)
    assert progress["eta_seconds"] is None
    assert eta_seconds(T0, T0 + timedelta(seconds=50), 5, 20, final=False, paused=True) is None
