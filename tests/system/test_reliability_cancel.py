"""Cancel means stop spending (issue 3, promise 5): POST /api/tasks/{id}/cancel mid-batch."""

from __future__ import annotations

import time

from app.batches import cancel_flags, repository, state
from app.core.db import session_scope
from tests.support import faults
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for


def test_cancel_mid_batch_stops_spending_and_keeps_written_articles(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=10, chunks=20)  # slow streams: a chunk every 0.5 s
    fake_llm.add_rule("Quick first title", [Behavior(latency=0)])
    fake_llm.add_rule("Throttled title", [Behavior("429", retry_after=60)])
    slow = [f"Slow title {i}" for i in range(7)]
    titles = ["Quick first title", "Throttled title", *slow]
    start_worker(concurrency=2, **llm_env)
    batch = submit(api, titles)
    task_id = batch["task_id"]

    # One article written, one item waiting out a 429, two streams running, five waiting (in
    # the database: the feeder keeps only a margin of two messages on the broker).
    def running() -> bool:
        statuses = faults.item_statuses(task_id)
        return (statuses["Quick first title"] == "completed"
                and statuses["Throttled title"] == "retrying" and fake_llm.in_flight == 2)

    wait_for(running, timeout=30, message="two streams running after the first article")
    streaming = [r for r in fake_llm.requests if r.ended is None]
    queued = faults.queue_length()
    assert queued <= 2, queued
    cancelled_at = time.monotonic()
    response = api.post(f"/api/tasks/{task_id}/cancel")
    assert response.status_code == 202, response.text
    assert response.json()["cancel_requested"] is True
    again = api.post(f"/api/tasks/{task_id}/cancel")  # harmless while the streams wind down
    assert again.status_code == 202, again.text

    # Running streams are cut within 2 seconds.
    wait_for(lambda: all(r.ended is not None for r in fake_llm.requests), timeout=10,
             message="the running streams to end")
    keys = {(r.text, r.started) for r in streaming}
    for record in fake_llm.requests:
        if (record.text, record.started) in keys:
            assert record.aborted, "the stream was not aborted"
            assert record.ended - cancelled_at < 2.0, record.ended - cancelled_at

    status = wait_final(api, task_id)
    assert status["status"] == "cancelled"
    assert (status["completed"], status["failed"], status["cancelled"]) == (1, 0, 8)
    assert status["progress"] == 100 and status["finished_at"]

    # Queued items were delivered and dropped without an LLM call; the 429 was not retried.
    wait_for(faults.broker_idle, timeout=30, message="the queued messages to be handled")
    assert all(r.started < cancelled_at for r in fake_llm.requests)
    asked = sorted(next(t for t in titles if t in r.text) for r in fake_llm.requests)
    assert asked == sorted(["Quick first title", "Throttled title", *slow[:2]])
    items = {i["title"]: i for i in status["items"]}
    assert items["Throttled title"]["status"] == "cancelled"
    assert items["Throttled title"]["attempts"] == 1

    # The article written before the cancel is kept.
    articles = api.get("/api/articles", params={"task_id": task_id}).json()
    assert [a["title"] for a in articles["items"]] == ["Quick first title"]
    assert items["Quick first title"]["article_id"] == articles["items"][0]["id"]

    ended = api.post(f"/api/tasks/{task_id}/cancel")
    assert ended.status_code == 409 and "already ended" in ended.json()["detail"]
    assert api.get(f"/api/tasks/{task_id}/status").json()["completed"] == 1


def test_cancel_of_unknown_or_finished_batches(api, start_worker):
    assert api.post("/api/tasks/does-not-exist/cancel").status_code == 404
    start_worker(concurrency=2)
    batch = submit(api, ["Finished before the cancel"])
    assert wait_final(api, batch["task_id"])["status"] == "completed"
    response = api.post(f"/api/tasks/{batch['task_id']}/cancel")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("task_id: ")
    assert api.get(f"/api/tasks/{batch['task_id']}/status").json()["status"] == "completed"


def test_cancel_before_any_worker_runs_it_calls_no_llm(api, start_worker, fake_llm, llm_env):
    batch = submit(api, ["Never written one", "Never written two"])
    response = api.post(f"/api/tasks/{batch['task_id']}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled" and response.json()["cancelled"] == 2

    start_worker(concurrency=2, **llm_env)
    wait_for(faults.broker_idle, timeout=30, message="the batch message to be handled")
    assert faults.item_statuses(batch["task_id"]) == {
        "Never written one": "cancelled", "Never written two": "cancelled"}
    assert fake_llm.count() == 0
    assert api.get("/api/articles", params={"task_id": batch["task_id"]}).json()["total"] == 0


def test_cancel_is_seen_through_the_database_when_redis_lost_the_flag(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=20, chunks=40)
    start_worker(concurrency=2, ITEM_LEASE_SECONDS="3", **llm_env)
    batch = submit(api, ["Flagless cancel one", "Flagless cancel two"])
    wait_for(lambda: fake_llm.in_flight == 2, timeout=30, message="both streams running")

    # What the API does when Redis is unavailable: the cancel is committed, the flag is not.
    with session_scope() as session:
        state.cancel_batch(session, repository.get(session, batch["task_id"]))
    assert not cancel_flags.cancel_flagged(batch["task_id"])

    status = wait_final(api, batch["task_id"], timeout=30)
    assert status["status"] == "cancelled" and status["cancelled"] == 2
    wait_for(lambda: all(r.ended is not None for r in fake_llm.requests), timeout=10,
             message="the streams to end")
    assert all(r.aborted for r in fake_llm.requests)
