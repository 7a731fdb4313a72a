"""The operations endpoints are cheap and closed: /api/health's details and /metrics need the
`ops` permission, readiness says a status and nothing else, neither broadcasts to the
workers (no Redis PUBLISH), and /metrics renders at most once per METRICS_CACHE_SECONDS."""

from __future__ import annotations

import threading
from typing import Any

import redis

from tests.support.api_helpers import submit
from tests.support.stack import use_settings
from tests.system.test_ops_metrics import scrape, value

TOKEN = "ops-test-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Monitor:
    """Every command Redis runs while it is on (MONITOR), on a thread of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.commands: list[str] = []
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with redis.Redis.from_url(self.url).monitor() as monitor:
            self._started.set()
            for command in monitor.listen():
                self.commands.append(command["command"])
                if self._stop.is_set():
                    return

    def __enter__(self) -> Monitor:
        self._thread.start()
        self._started.wait(5)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        redis.Redis.from_url(self.url).ping()  # wakes the listener up
        self._thread.join(5)


def test_health_and_metrics_broadcast_nothing_to_the_workers(api: Any, start_worker: Any,
                                                             redis_server: Any) -> None:
    worker = start_worker(concurrency=2)
    with Monitor(redis_server.url) as monitor:
        for _ in range(20):
            assert api.get("/metrics").status_code == 200
            health = api.get("/api/health")
            assert health.status_code == 200, health.text
    # The registry was read (the monitor saw it), and no control broadcast went out: a
    # control.ping is a PUBLISH on Celery's pidbox channel, answered by every worker.
    assert sum(c.startswith("SCAN") and "worker" in c for c in monitor.commands) >= 40
    broadcasts = [c for c in monitor.commands if c.startswith("PUBLISH") and "pidbox" in c]
    assert broadcasts == []
    checks = health.json()["checks"]
    assert checks["workers"]["names"] == [worker.hostname] and checks["workers"]["slots"] == 2
    assert value(scrape(api), "trustagency_workers_alive") == 1


def test_details_and_metrics_need_the_ops_permission(api: Any) -> None:
    use_settings(api_token=TOKEN, api_allow_unauthenticated=False)
    try:
        for path in ("/api/health", "/metrics"):
            assert api.get(path).status_code == 401, path
            assert api.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert api.get("/metrics", headers=BEARER).status_code == 200
        assert api.get("/api/health", headers=BEARER).json()["checks"]["database"]["ok"]
        assert api.get("/api/health/live").json() == {"status": "ok"}
        ready = api.get("/api/health/ready")  # no worker here
        assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})
    finally:
        use_settings(api_token="", api_allow_unauthenticated=True)


def test_readiness_leaks_nothing_and_details_are_masked(api: Any, start_worker: Any,
                                                         database: str) -> None:
    worker = start_worker(concurrency=1)
    ready = api.get("/api/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
    use_settings(database_url="postgresql+psycopg://nobody:s3cret-db-pass@127.0.0.1:1/none")
    try:
        ready = api.get("/api/health/ready")
        details = api.get("/api/health")
    finally:
        use_settings(database_url=database)
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})
    for leak in (worker.hostname, "database", "OperationalError", "127.0.0.1", "s3cret"):
        assert leak not in ready.text
    assert details.status_code == 503 and details.json()["down"] == ["database"]
    assert "OperationalError" in details.text and "s3cret-db-pass" not in details.text


def test_metrics_render_at_most_once_per_cache_period(api: Any) -> None:
    use_settings(metrics_cache_seconds="30")
    try:
        first = api.get("/metrics").text
        submit(api, ["A title the cached page does not count yet"])
        assert api.get("/metrics").text == first
    finally:
        use_settings(metrics_cache_seconds="0")
    assert value(scrape(api), "trustagency_batches", status="pending") == 1
