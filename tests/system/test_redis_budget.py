"""What one article costs Redis, and that the cheaper Celery progress mirror still says it all.

The bench (bench/RESULTS.md) measures the same at scale; this keeps a regression from slipping
back in: a per-chunk cancel check or a progress write on every claim shows up here at once.
"""

from __future__ import annotations

import time

import redis
from celery.result import AsyncResult

from app.batches.cancel_flags import CANCEL_MAX_AGE
from app.batches.scheduling.feeder import CAPACITY_CACHE_S
from app.celery_app import app as celery_app
from tests.support import faults
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for

BUDGET = 15  # Redis commands per article, the target
# On PostgreSQL feeders never wait for each other's turn: the one in its turn reads, after its
# commit, how many feeds found it taken (one GET per feed, app/batches/scheduling/feeder.py), so
# that none of their freed slots idles until the timer. That is one command more per article.
POSTGRES_TURN_CHECK = 1
ENDED = {"completed", "failed", "cancelled"}
# The cancel check (EXISTS, at most once per CANCEL_MAX_AGE per batch and process) and the
# feeder's read of the worker registry (SCAN + MGET, at most once per CAPACITY_CACHE_S per
# process), for the two processes here: the worker and the API. The feeder's own MGET (its
# fairness memory, once a feed) is paid per article: only as many MGETs as registry SCANs are
# the clock's.
THROTTLED = ("exists", "scan")
THROTTLED_PER_SECOND = 2 * (1 / CANCEL_MAX_AGE + 2 / CAPACITY_CACHE_S)


# The test's own reads, and a new connection's handshake (HELLO, SELECT, PING): a thread that
# opens one more pooled connection pays it once, not per article (the warm-up batch opens most).
NOT_COUNTED = {"info", "config|resetstat", "config", "hello", "select", "ping"}


def _registry_reads(calls: dict[str, int]) -> int:
    """The MGETs that went with a registry SCAN (one each), not with a feed."""
    return min(calls.get("mget", 0), calls.get("scan", 0))


def _total(calls: dict[str, int]) -> int:
    return (sum(n for name, n in calls.items() if name not in THROTTLED)
            - _registry_reads(calls))


def _calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name: int(v["calls"]) for k, v in stats.items()
            if (name := k.removeprefix("cmdstat_")) not in NOT_COUNTED}


def test_an_article_costs_at_most_15_redis_commands(api, start_worker, fake_llm, llm_env,
                                                     redis_server, database):
    # Streams long enough for several cancel checks each, eight at once in one process.
    fake_llm.default = Behavior(latency=1.0, chunks=8)
    # Celery's task events (for Flower, CELERY_TASK_EVENTS) add 3-4 more; the bench shows both.
    start_worker("budget", pool="threads", concurrency=8, CELERY_TASK_EVENTS="false", **llm_env)
    wait_final(api, submit(api, [f"Warm-up {i}" for i in range(8)])["task_id"])  # connections

    client = redis.Redis.from_url(redis_server.url)
    client.config_resetstat()
    n = 48  # enough that one upkeep tick more or less moves the figure by little
    started = time.monotonic()
    batch_id = submit(api, [f"Budget title {i}" for i in range(n)])["task_id"]
    # Waited for in the database: polling the API reads Redis, as often as the test polls
    # (more on a slow machine), which is not the article's cost.
    wait_for(lambda: set(faults.item_statuses(batch_id).values()) <= ENDED, timeout=120,
             interval=0.2, message="the batch's items to end")
    took = time.monotonic() - started
    calls = _calls(client)
    status = wait_final(api, batch_id)
    # What the idle worker spends in the same time (its heartbeat and the recovery loop of
    # app/worker/loop.py) is upkeep by the clock, not by the article: measured and taken off,
    # over twice the time and halved so that a one-off tick moves it less.
    client.config_resetstat()
    time.sleep(2 * took)
    idle = _calls(client)
    assert status["completed"] == n

    # Checks throttled by the clock while a batch runs cost by the second, not by the article
    # (more of them per article on a slower machine): bounded by their rate, not counted.
    throttled = sum(calls.get(c, 0) for c in THROTTLED) + _registry_reads(calls)
    assert throttled <= THROTTLED_PER_SECOND * took + 10, f"{throttled} throttled checks: {calls}"
    per_article = (_total(calls) - _total(idle) / 2) / n
    print(f"{per_article:.2f} Redis commands per article, {throttled} throttled checks in "
          f"{took:.1f} s: {calls}")
    budget = BUDGET + (POSTGRES_TURN_CHECK if database.startswith("postgresql") else 0)
    assert per_article <= budget, f"{per_article:.1f} Redis commands per article: {calls}"


def test_the_celery_mirror_shows_progress_then_success(api, start_worker, fake_llm, llm_env):
    fake_llm.default = Behavior(latency=0.4, chunks=2)
    start_worker(concurrency=1, **llm_env)
    batch = submit(api, [f"Mirrored title {i}" for i in range(5)])
    result = AsyncResult(batch["celery_task_id"], app=celery_app)

    def midway() -> dict | None:
        info = result.info if result.state == "PROGRESS" else None
        return info if info and 0 < info["current"] < 5 else None

    info = wait_for(midway, timeout=60, message="PROGRESS with some items done")
    assert info == {"batch_id": batch["task_id"], "status": "processing",
                    "current": info["current"], "total": 5, "progress": info["current"] * 20}
    wait_final(api, batch["task_id"])
    assert result.state == "SUCCESS" and result.info["current"] == 5
