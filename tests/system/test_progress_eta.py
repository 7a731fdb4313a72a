"""`eta_seconds` on /progress while a real worker writes a batch (the formula itself is unit
tested in tests/batches/test_progress.py)."""

from __future__ import annotations

from tests.support.api_helpers import submit, wait_final
from tests.support.stack import wait_for


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
