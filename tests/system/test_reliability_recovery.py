"""Recovery with the plan's minimal deployment: workers and the API, no beat (issue 14).

Each worker runs recovery on a thread of its own (app/worker/loop.py); these tests start no
beat, so nothing else can bring work back. Real parts: celery worker processes, the private
redis-server, the test database and the fake OpenAI-compatible server.
"""

from __future__ import annotations

import time

import pytest

from app.core import workers
from app.core.models import utcnow
from tests.support import faults
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for

RECOVERY_TARGET = 15.0  # seconds from a live worker being up to the dead worker's items running
LEASE = 60  # the default ITEM_LEASE_SECONDS: far too long to be what brings the items back


@pytest.fixture
def redis_to_restart(redis_server):
    yield redis_server
    faults.forget_broker_connections()


def _calls(fake_llm, title: str) -> list:
    return sorted((r for r in fake_llm.requests if title in r.text), key=lambda r: r.started)


def test_without_beat_a_killed_workers_items_run_again_within_15_s(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=3.0, chunks=10)
    titles = [f"Beatless recovery title {i}" for i in range(4)]
    first = start_worker("w1", concurrency=2, item_lease_seconds=LEASE, **llm_env)
    batch_id = submit(api, titles)["task_id"]

    wait_for(lambda: fake_llm.in_flight == 2, timeout=30, message="two LLM calls in flight")
    wait_for(lambda: list(faults.item_statuses(batch_id).values()).count("processing") == 2,
             timeout=10, message="two items claimed")
    first.kill()  # kill -9 of the main process and every pool child
    wait_for(lambda: all(r.ended is not None for r in fake_llm.requests), timeout=10,
             message="the killed streams to end")
    killed = {t for t in titles for r in fake_llm.requests if r.aborted and t in r.text}
    assert len(killed) == 2, killed

    # start_worker returns once the new worker answers a ping: it is up.
    second = start_worker("w2", concurrency=3, item_lease_seconds=LEASE, **llm_env)
    up = time.monotonic()
    wait_for(lambda: all(len(_calls(fake_llm, t)) >= 2 for t in killed),
             timeout=RECOVERY_TARGET + 5, message="the killed items to run again")
    rerun = {t: _calls(fake_llm, t)[1].started for t in killed}
    recovered_in = max(rerun.values()) - up
    print(f"\nkilled items running again {recovered_in:.1f} s after the new worker was up")
    assert recovered_in <= RECOVERY_TARGET, recovered_in
    for title in killed:  # well before the lease could have run out
        assert rerun[title] - _calls(fake_llm, title)[0].started < LEASE, title

    status = wait_final(api, batch_id, timeout=60)
    assert status["status"] == "completed" and status["completed"] == 4
    assert faults.articles_per_title(batch_id) == {t: 1 for t in titles}
    for item in status["items"]:
        assert len(_calls(fake_llm, item["title"])) == item["attempts"], item
        assert item["attempts"] == (2 if item["title"] in killed else 1), item
    assert second.logged(f"'dead_workers': ['{first.hostname}']")


def test_without_beat_messages_redis_lost_are_sent_again_while_the_queue_is_busy(
    api, redis_to_restart, start_worker, fake_llm, llm_env
):
    # Two items of the first batch stream for 12 s: claimed long before Redis restarts and
    # wipes the worker keys, they must not be taken for a dead worker's. Two more wait in the
    # queue and are lost with it. Four backlog batches submitted right after the restart keep
    # the queue busy from then on: more batch messages than the reconnected worker prefetches,
    # and each, once taken, queues its items.
    fake_llm.default = Behavior(latency=1.0, chunks=5)
    slow = Behavior(latency=12.0, chunks=24)
    fake_llm.add_rule("Lost with Redis title", [slow, slow])  # then the default
    titles = [f"Lost with Redis title {i}" for i in range(4)]
    backlogs = [[f"Backlog title {b}{chr(65 + i)}" for i in range(4)] for b in "WXYZ"]
    start_worker("w1", concurrency=2, item_lease_seconds=LEASE, **llm_env)
    first_id = submit(api, titles)["task_id"]
    wait_for(lambda: fake_llm.in_flight == 2 and faults.queue_length() == 2, timeout=30,
             message="two items streaming and two queued")
    streaming_since = min(r.started for r in fake_llm.requests)
    wait_for(lambda: time.monotonic() - streaming_since > workers.HEARTBEAT_TTL + 1,
             timeout=10, message="the running claims to be older than a heartbeat's TTL")

    restarted, began = utcnow(), time.monotonic()  # before: a worker may recover before it returns
    redis_to_restart.restart()  # the two queued messages are gone with everything else
    faults.forget_broker_connections()
    busy_ids = [submit(api, backlog)["task_id"] for backlog in backlogs]

    def lost_ones_taken_back() -> bool:
        """Back in their batch's backlog (enqueued_at NULL), or already sent again since."""
        waiting = [i for i in faults.items(first_id) if i.status == "pending"]
        return len(waiting) == 2 and all(
            i.enqueued_at is None or _utc(i.enqueued_at) > restarted for i in waiting)

    wait_for(lost_ones_taken_back, timeout=30, interval=0.1,
             message="the lost messages' items to be taken back")
    print(f"\nlost messages taken back {time.monotonic() - began:.1f} s after the restart began")
    # ...while the backlog still waits: recovery did not wait for an empty queue.
    still_waiting = sum(list(faults.item_statuses(b).values()).count("pending")
                        for b in busy_ids)
    assert still_waiting >= 4, still_waiting

    for batch_id, batch_titles in ((first_id, titles), *zip(busy_ids, backlogs, strict=True)):
        status = wait_final(api, batch_id, timeout=90)
        assert status["status"] == "completed", status
        assert faults.articles_per_title(batch_id) == {t: 1 for t in batch_titles}
        for item in status["items"]:
            assert len(_calls(fake_llm, item["title"])) == item["attempts"], item
    # The running items were not taken for a dead worker's when Redis lost the worker keys.
    first = wait_final(api, first_id)
    assert all(item["attempts"] == 1 for item in first["items"]), first["items"]


def _utc(when):
    return when if when.tzinfo is not None else when.replace(tzinfo=utcnow().tzinfo)
