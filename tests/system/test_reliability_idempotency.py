"""No double dispatch (issue 3, promise 6): Idempotency-Key, and batch/item tasks run twice."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import IntegrityError

from app.articles.models import Article
from app.celery_app import app as celery_app
from app.core.db import session_scope
from app.core.names import ITEM_TASK as SINGLE_TASK
from tests.support import faults
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for

BATCH_TASK = "app.tasks.ai_generation.generate_article_batch"
BODY = {"titles": ["Keyed title one", "Keyed title two"], "category": "guide"}


def test_same_idempotency_key_returns_the_same_batch(api):
    first = api.post("/api/tasks/generate-articles", json=BODY, headers={"Idempotency-Key": "k-1"})
    second = api.post("/api/tasks/generate-articles", json=BODY,
                      headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 202
    assert second.json()["task_id"] == first.json()["task_id"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert faults.batch_count() == 1 and faults.queue_length() == 1  # one batch, one message

    other = api.post("/api/tasks/generate-articles", headers={"Idempotency-Key": "k-1"},
                     json={**BODY, "titles": ["Something else"]})
    assert other.status_code == 409 and other.json()["detail"].startswith("idempotency-key:")
    assert faults.batch_count() == 1 and faults.queue_length() == 1


def test_concurrent_requests_with_one_key_make_one_batch(api):
    barrier = threading.Barrier(5)
    answers: list = []

    def post() -> None:
        barrier.wait()
        answers.append(api.post("/api/tasks/generate-articles", json=BODY,
                                headers={"Idempotency-Key": "k-race"}))

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [202] * 5, [a.text for a in answers]
    assert len({a.json()["task_id"] for a in answers}) == 1
    assert faults.batch_count() == 1 and faults.queue_length() == 1


def test_batch_and_item_tasks_delivered_twice_write_each_article_once(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=1.0, chunks=4)
    titles = [f"Delivered twice title {i}" for i in range(4)]
    start_worker(concurrency=4, **llm_env)
    batch = submit(api, titles)
    task_id = batch["task_id"]
    # Redelivery and a racing dispatcher: three more copies of the batch task at once.
    for _ in range(3):
        celery_app.send_task(BATCH_TASK, args=[task_id])
    status = wait_final(api, task_id)
    assert status["status"] == "completed"
    wait_for(faults.broker_idle, timeout=30, message="every copy of the batch task to run")

    # After the end: the batch task and every item task once more.
    again = celery_app.send_task(BATCH_TASK, args=[task_id])
    assert again.get(timeout=30)["status"] == "completed"
    for item in status["items"]:
        celery_app.send_task(SINGLE_TASK, args=[item["id"]])
    wait_for(faults.broker_idle, timeout=30, message="the repeated item tasks to be handled")

    assert len(faults.items(task_id)) == 4
    assert faults.articles_per_title(task_id) == {t: 1 for t in titles}
    assert fake_llm.count() == 4
    final = api.get(f"/api/tasks/{task_id}/status").json()
    assert [i["attempts"] for i in final["items"]] == [1, 1, 1, 1]
    assert (final["status"], final["completed"], final["progress"]) == ("completed", 4, 100)


def test_database_allows_one_article_per_item(database):
    from app.batches.service import create_batch

    with session_scope() as session:
        batch = create_batch(session, ["Unique article title"], "guide")
        item_id, batch_id = batch.items[0].id, batch.id

    def article() -> Article:
        return Article(item_id=item_id, task_id=batch_id, title="t", category="guide",
                       content="c", provider="p", model="m")

    with session_scope() as session:
        session.add(article())
    with pytest.raises(IntegrityError), session_scope() as session:
        session.add(article())
