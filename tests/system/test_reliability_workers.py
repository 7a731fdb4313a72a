"""Crashes: a worker SIGKILLed mid-batch, Redis restarted mid-batch, lost messages (issue 3, 1-2).

Real parts only: celery worker and beat processes, the private redis-server, the test database
and the fake OpenAI-compatible server. The reaper is the beat task `reap_stuck_items`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.batches import state
from app.batches.models import GenerationItem
from app.batches.scheduling import recovery as reaper
from app.core.db import session_scope
from app.core.models import utcnow
from tests.support import faults
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for

# A short lease so a dead worker's items are found in seconds, not a minute.
FAST_LEASE = {"ITEM_LEASE_SECONDS": "3"}


@pytest.fixture
def redis_to_restart(redis_server):
    """The redis-server, for a test that restarts it; this process's stale broker sockets
    are dropped afterwards so later tests' `control.ping` does not hit one."""
    yield redis_server
    faults.forget_broker_connections()


def test_worker_killed_mid_batch_then_new_worker_finishes_it(
    api, start_worker, start_beat, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=2.0, chunks=10)
    titles = [f"Crash-safe savings guide {i}" for i in range(6)]
    first = start_worker("w1", concurrency=2, **llm_env, **FAST_LEASE)
    start_beat()
    batch = submit(api, titles)
    batch_id = batch["task_id"]

    # Two streams are running and their items are claimed in the database: kill everything.
    wait_for(lambda: fake_llm.in_flight == 2, timeout=30, message="two LLM calls in flight")
    wait_for(lambda: list(faults.item_statuses(batch_id).values()).count("processing") == 2,
             timeout=10, message="two items claimed")
    first.kill()
    # The streams the kill cut (the server saw the client vanish) belong to the lost items.
    wait_for(lambda: all(r.ended is not None for r in fake_llm.requests), timeout=10,
             message="the killed streams to end")
    killed = {t for t in titles for r in fake_llm.requests if r.aborted and t in r.text}
    assert killed, "the kill cut no stream"

    start_worker("w2", concurrency=2, **llm_env, **FAST_LEASE)
    status = wait_final(api, batch_id, timeout=90)

    assert status["status"] == "completed" and status["completed"] == 6
    assert faults.articles_per_title(batch_id) == {t: 1 for t in titles}
    attempts = {i["title"]: i["attempts"] for i in status["items"]}
    assert all(attempts[t] >= 2 for t in killed), attempts
    # The killed streams were cut, and each item was asked of the LLM once per attempt.
    for title in titles:
        calls = [r for r in fake_llm.requests if title in r.text]
        assert len(calls) == attempts[title], (title, len(calls), attempts[title])


def test_a_silent_gap_longer_than_the_lease_is_not_taken_for_a_dead_worker(
    api, start_worker, start_beat, fake_llm, llm_env
):
    # 5 s without a chunk (a slow first token), against a 3 s lease and a reaper every second.
    fake_llm.default = Behavior(latency=10, chunks=2)
    start_worker("w1", concurrency=2, **llm_env, **FAST_LEASE)
    start_beat()
    batch = submit(api, ["Slow first token title"])
    status = wait_final(api, batch["task_id"], timeout=60)

    assert status["status"] == "completed"
    assert status["items"][0]["attempts"] == 1
    assert fake_llm.count() == 1, "the item was reclaimed and paid for twice"


def test_batch_message_lost_with_redis_is_dispatched_by_the_reaper(
    api, redis_to_restart, start_worker, start_beat
):
    # The API stored the batch and enqueued it, then Redis restarted without persistence
    # before any worker took the message: only the database still knows about the batch.
    batch = submit(api, ["Lost message one", "Lost message two"])
    redis_to_restart.restart()
    assert faults.queue_length() == 0
    faults.forget_broker_connections()

    start_worker("w1", concurrency=2)
    start_beat()
    status = wait_final(api, batch["task_id"], timeout=60)
    assert status["status"] == "completed"
    assert faults.articles_per_title(batch["task_id"]) == {
        "Lost message one": 1, "Lost message two": 1}


def test_redis_restarted_mid_batch_workers_reconnect_and_finish(
    api, redis_to_restart, start_worker, start_beat, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=1.5, chunks=6)
    titles = [f"Redis restart title {i}" for i in range(6)]
    worker = start_worker("w1", concurrency=2, **llm_env)
    start_beat()
    batch = submit(api, titles)
    batch_id = batch["task_id"]
    wait_for(lambda: fake_llm.in_flight == 2, timeout=30, message="two LLM calls in flight")

    # Queued messages, results, locks and flags are all gone with this restart.
    redis_to_restart.restart()
    status = wait_final(api, batch_id, timeout=90)

    assert status["status"] == "completed" and status["completed"] == 6
    assert faults.articles_per_title(batch_id) == {t: 1 for t in titles}
    # Nothing ran twice: one LLM call per attempt, and one attempt per title here.
    for item in status["items"]:
        calls = [r for r in fake_llm.requests if item["title"] in r.text]
        assert len(calls) == item["attempts"], item

    # The queued messages died with Redis; the reaper put those items back from the database.
    assert worker.logged("reaper: {") and worker.logged("'requeued': [")
    # celery#8030: the same worker still consumes after the reconnect.
    again = submit(api, ["After the restart"])
    assert wait_final(api, again["task_id"], timeout=60)["status"] == "completed"
    assert worker.proc is not None and worker.proc.poll() is None


def test_reaper_fails_an_item_whose_worker_keeps_dying(database):
    """A poison item that kills its worker every time ends failed, never loops forever."""
    from app.batches.service import create_batch
    from app.config import get_settings

    with session_scope() as session:
        batch = create_batch(session, ["Poison title"], "guide")
        batch_id, item_id = batch.id, batch.items[0].id
    max_attempts = get_settings().llm_max_retries + 1
    for attempt in range(1, max_attempts + 1):
        with session_scope() as session:
            assert state.claim_item(session, item_id, f"dead-{attempt}", lease=60) is not None
            # The worker died: its lease ran out without a heartbeat.
            session.get(GenerationItem, item_id).lease_expires_at = utcnow() - timedelta(1)
        reaper.reap()
    with session_scope() as session:
        item = session.get(GenerationItem, item_id)
        assert item.status == "failed" and item.attempts == max_attempts
        assert f"gave up after {max_attempts} attempts" in item.error
        assert state.refresh_batch(session, batch_id).status == "failed"


def test_an_old_runner_cannot_end_an_item_another_worker_reclaimed(database):
    """Lease expired, another worker claimed the item: the first one's late result is dropped."""
    from app.batches.service import create_batch
    from app.llm.base import Generated

    with session_scope() as session:
        batch = create_batch(session, ["Reclaimed title"], "guide")
        item_id = batch.items[0].id
    with session_scope() as session:
        slow = state.claim_item(session, item_id, "slow/1", lease=60)
        session.get(GenerationItem, item_id).lease_expires_at = utcnow() - timedelta(1)
    with session_scope() as session:
        fresh = state.claim_item(session, item_id, "fresh/2", lease=60)
        assert fresh is not None and fresh.attempts == 2
    draft = Generated(content="written", provider="test", model="m")
    with session_scope() as session:
        assert state.complete_item(session, slow, "guide", draft) is None
        assert state.fail_item(session, slow, "late failure") is None
        assert not state.heartbeat(session, item_id, "slow/1", 60)
    with session_scope() as session:
        assert state.complete_item(session, fresh, "guide", draft) is not None
        item = session.get(GenerationItem, item_id)
        assert item.status == "completed" and item.article.content == "written"


def test_a_batch_submitted_while_the_broker_is_down_is_kept_and_runs_later(
    api, start_worker, start_beat, redis_to_restart
):
    """The outbox's one policy: a send that fails after the commit is logged; the batch is
    stored as pending and recovery enqueues it once the broker is back."""
    redis_to_restart.stop()
    try:
        response = api.post("/api/tasks/generate-articles",
                            json={"titles": ["Broker outage title"], "category": "guide"})
    finally:
        redis_to_restart.start()
        faults.forget_broker_connections()
    assert response.status_code == 202, response.text
    batch_id = response.json()["task_id"]
    assert api.get(f"/api/tasks/{batch_id}/status").json()["status"] == "pending"
    assert faults.queue_length() == 0  # the message never made it

    start_worker(concurrency=2)
    start_beat()
    status = wait_final(api, batch_id, timeout=60)
    assert status["status"] == "completed"
    assert faults.articles_per_title(batch_id) == {"Broker outage title": 1}
