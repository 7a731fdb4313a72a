"""Retry-failed-items: a finished batch's failed items run again; the rest is kept."""

from __future__ import annotations

from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior


def test_failed_items_run_again_and_the_batch_completes(api, start_worker, fake_llm, llm_env):
    # The provider refuses "Flaky" once (400: not retried, the item fails), then accepts it.
    fake_llm.add_rule("Flaky", [Behavior(kind="400")], then=Behavior())
    batch = submit(api, ["Steady title", "Flaky title"])
    task_id = batch["task_id"]

    early = api.post(f"/api/tasks/{task_id}/retry-failed")
    assert early.status_code == 409 and "still pending" in early.json()["detail"]

    start_worker(concurrency=2, **llm_env)
    ended = wait_final(api, task_id)
    assert ended["status"] == "partially_completed" and ended["failed"] == 1
    steady = next(i for i in ended["items"] if i["title"] == "Steady title")

    response = api.post(f"/api/tasks/{task_id}/retry-failed")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "processing" and body["finished_at"] is None
    assert body["failed"] == 0 and body["completed"] == 1 and body["progress"] == 50
    flaky = next(i for i in body["items"] if i["title"] == "Flaky title")
    if flaky["status"] == "pending":  # a fast worker may already hold it
        assert flaky["attempts"] == 0 and flaky["error"] is None

    final = wait_final(api, task_id)
    assert final["status"] == "completed" and final["completed"] == 2 and final["failed"] == 0
    items = {i["title"]: i for i in final["items"]}
    assert items["Flaky title"]["attempts"] == 1 and items["Flaky title"]["error"] is None
    # The item that had succeeded was neither run again nor given a second article.
    assert items["Steady title"]["article_id"] == steady["article_id"]
    assert fake_llm.count() == 3 and fake_llm.count("Flaky") == 2
    assert api.get("/api/articles", params={"task_id": task_id}).json()["total"] == 2

    again = api.post(f"/api/tasks/{task_id}/retry-failed")
    assert again.status_code == 409 and "no failed items" in again.json()["detail"]


def test_retry_failed_refuses_unknown_and_cancelled_batches(api):
    assert api.post("/api/tasks/nope/retry-failed").status_code == 404
    batch = submit(api, ["Never started"])
    assert api.post(f"/api/tasks/{batch['task_id']}/cancel").status_code == 202
    response = api.post(f"/api/tasks/{batch['task_id']}/retry-failed")
    assert response.status_code == 409 and "cancelled" in response.json()["detail"]
