"""`eta_seconds` on /progress: from the rate this batch has kept so far."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.batches import service, state
from app.batches.enums import BatchStatus
from app.batches.models import AIGenerationTask
from app.batches.progress import eta_seconds
from app.core.db import session_scope
from app.llm.base import Generated
from tests.support.api_helpers import submit, wait_final
from tests.support.stack import wait_for

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


def test_progress_carries_an_eta_while_the_batch_runs(api, start_worker):
    start_worker(concurrency=1, OFFLINE_DELAY="0.4")
    batch = submit(api, [f"Estimated title {i}" for i in range(8)])
    first = api.get(f"/api/tasks/{batch['task_id']}/progress").json()
    assert first["current"] == 0 and first["eta_seconds"] is None

    def midway() -> dict | None:
        progress = api.get(f"/api/tasks/{batch['task_id']}/progress").json()
        return progress if 1 <= progress["current"] < progress["total"] else None

    progress = wait_for(midway, timeout=60, message="the first items to end")
    # One slot at ~0.4 s an item: the estimate is positive and on the order of what is left.
    left = progress["total"] - progress["current"]
    assert 0 < progress["eta_seconds"] < left * 10

    wait_final(api, batch["task_id"])
    final = api.get(f"/api/tasks/{batch['task_id']}/progress").json()
    assert final["status"] == "completed" and final["eta_seconds"] is None


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
