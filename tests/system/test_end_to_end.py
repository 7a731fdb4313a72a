"""Titles in, articles out: the API, real Celery workers, Redis and the database together."""

from __future__ import annotations

import uuid

from celery.result import AsyncResult

from app.batches.models import AIGenerationTask
from app.celery_app import app as celery_app
from app.core.db import session_scope
from tests.support.api_helpers import submit, wait_final
from tests.support.stack import wait_for

TITLES = [f"How to pick a savings account, part {i}" for i in range(1, 6)]


def test_offline_batch_completes_with_five_articles(api, start_worker):
    start_worker()
    batch = submit(api, TITLES)
    assert batch["status"] == "pending" and batch["total"] == 5

    status = wait_final(api, batch["task_id"])
    assert status["status"] == "completed"
    assert status["progress"] == 100 and status["completed"] == 5
    assert [i["status"] for i in status["items"]] == ["completed"] * 5
    assert status["started_at"] and status["finished_at"] and status["last_progress_update"]

    articles = api.get("/api/articles", params={"task_id": batch["task_id"]}).json()
    assert articles["total"] == 5
    assert sorted(a["title"] for a in articles["items"]) == sorted(TITLES)
    first = articles["items"][0]
    assert first["provider"] == "offline-placeholder"
    assert first["content"].startswith(f"# {first['title']}") and len(first["content"]) > 300
    one = api.get(f"/api/articles/{first['id']}").json()
    assert one == first
    download = api.get(f"/api/articles/{first['id']}/markdown")
    assert download.text == first["content"]
    assert download.headers["content-type"].startswith("text/markdown")
    # Named after the title (RFC 6266), as the page and the exports name it.
    slug = first["title"].lower().replace(",", "").replace(" ", "-")
    assert f'filename="{slug}.md"' in download.headers["content-disposition"]
    assert f"filename*=UTF-8''{slug}.md" in download.headers["content-disposition"]

    # The batch's own Celery task carries the plan's progress meta, for AsyncResult and Flower.
    result = AsyncResult(status["celery_task_id"], app=celery_app)
    assert result.state == "SUCCESS"
    assert result.info == {"batch_id": batch["task_id"], "status": "completed",
                           "current": 5, "total": 5, "progress": 100}
    assert status["celery_status"] == "SUCCESS"


def test_openai_compatible_server_writes_the_articles(api, start_worker, fake_llm, llm_env):
    start_worker(**llm_env)
    batch = submit(api, TITLES[:3], category="review")
    status = wait_final(api, batch["task_id"])
    assert status["status"] == "completed"

    articles = api.get("/api/articles", params={"task_id": batch["task_id"]}).json()["items"]
    assert {a["model"] for a in articles} == {"test-model"}
    assert {a["provider"] for a in articles} == {"openai-compatible"}
    for article in articles:
        assert article["tokens"]["completion"] > 0 and article["tokens"]["prompt"] > 0
        assert article["tokens"]["total"] == (
            article["tokens"]["prompt"] + article["tokens"]["completion"]
        )
    requests = fake_llm.requests
    assert len(requests) == 3 and all(r.stream for r in requests)
    # The title travels as delimited data, and the key as a bearer header only.
    assert all("<article-request>" in r.text for r in requests)
    assert all(r.headers.get("authorization") == "Bearer sk-test-secret-key-123"
               or r.headers.get("Authorization") == "Bearer sk-test-secret-key-123"
               for r in requests)


def test_twenty_titles_run_four_at_a_time_on_four_slots(api, start_worker, fake_llm, llm_env):
    from tests.support.fake_openai import Behavior

    fake_llm.default = Behavior(latency=0.6, chunks=4)
    start_worker(concurrency=4, **llm_env)
    batch = submit(api, [f"Parallel title {i}" for i in range(20)])
    status = wait_final(api, batch["task_id"], timeout=90)
    assert status["status"] == "completed" and status["completed"] == 20
    assert fake_llm.max_in_flight == 4
    # Overlap: some call started before another one ended.
    calls = sorted(fake_llm.requests, key=lambda r: r.started)
    assert any(b.started < a.ended for a, b in zip(calls, calls[1:], strict=False))


def test_inspect_lists_the_four_tasks_and_answers(start_worker):
    worker = start_worker()
    inspect = celery_app.control.inspect(destination=[worker.hostname], timeout=5)
    registered = inspect.registered()[worker.hostname]
    for name in ("generate_article_batch", "generate_single_article", "update_task_status",
                 "handle_generation_error"):
        assert f"app.tasks.ai_generation.{name}" in registered
    assert worker.hostname in inspect.stats()
    assert inspect.active()[worker.hostname] == []


def test_plan_style_delay_creates_and_runs_the_batch(api, start_worker):
    from app.tasks.ai_generation import generate_article_batch

    start_worker()
    batch_id = uuid.uuid4().hex
    result = generate_article_batch.delay(batch_id, ["Plan title one", "Plan title two"], "guide")
    assert result.id

    def known() -> dict | None:
        response = api.get(f"/api/tasks/{batch_id}/status")
        return response.json() if response.status_code == 200 else None

    first = wait_for(known, timeout=30, message="the batch row")
    assert first["status"] in {"pending", "processing", "completed"}
    status = wait_final(api, batch_id)
    assert status["status"] == "completed" and status["celery_task_id"] == result.id
    assert AsyncResult(result.id, app=celery_app).info["progress"] == 100


def test_update_task_status_recounts_from_the_items(api, start_worker):
    from app.tasks.ai_generation import update_task_status

    start_worker()
    batch = submit(api, TITLES[:2])
    wait_final(api, batch["task_id"])
    # Make the batch row disagree with its items, as a crash between two writes could.
    with session_scope() as session:
        row = session.get(AIGenerationTask, batch["task_id"])
        assert row is not None
        row.status, row.completed, row.finished_at = "processing", 0, None
    assert api.get(f"/api/tasks/{batch['task_id']}/status").json()["completed"] == 0

    snapshot = update_task_status.delay(batch["task_id"], "bogus", 3).get(timeout=20)
    assert (snapshot["status"], snapshot["completed"], snapshot["progress"]) == (
        "completed", 2, 100)
    status = api.get(f"/api/tasks/{batch['task_id']}/status").json()
    assert (status["status"], status["completed"]) == ("completed", 2)
