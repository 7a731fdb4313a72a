"""/api/health: 200 with details when everything answers, 503 naming the part that does not."""

from __future__ import annotations

from tests.support.faults import forget_broker_connections
from tests.support.stack import use_settings, wait_for


def health(api) -> tuple[int, dict]:
    response = api.get("/api/health")
    return response.status_code, response.json()


def test_health_names_each_part_that_is_down(api, start_worker, redis_server, database):
    worker = start_worker(concurrency=1)
    code, body = health(api)
    assert code == 200 and body["status"] == "ok" and body["down"] == []
    assert body["checks"]["workers"]["names"] == [worker.hostname]
    assert body["checks"]["database"]["backend"] in ("sqlite", "postgresql")

    # The only worker stops.
    worker.stop()
    code, body = health(api)
    assert code == 503 and body["down"] == ["workers"] and body["status"] == "unavailable"
    assert "no worker heartbeat" in body["checks"]["workers"]["error"]

    # Redis (the broker) stops; a worker is up again but cannot be reached either.
    worker = start_worker(concurrency=1)
    redis_server.stop()
    try:
        code, body = health(api)
        assert code == 503 and "broker" in body["down"] and "database" not in body["down"]
        assert body["checks"]["broker"]["ok"] is False and body["checks"]["broker"]["error"]
    finally:
        redis_server.start()
        forget_broker_connections()  # this process's broker sockets died with Redis
    # The worker reconnects by itself, and health says so.
    wait_for(lambda: health(api)[0] == 200, timeout=60, interval=0.5,
             message="health to recover after Redis came back")

    # The database cannot be reached.
    use_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        code, body = health(api)
    finally:
        use_settings(database_url=database)
    assert code == 503 and body["down"] == ["database"]
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert health(api)[0] == 200


def test_liveness_answers_while_every_part_is_down_and_readiness_names_them(
        api, redis_server, database):
    """/api/health/live says only that the process answers (restart it when it fails);
    /api/health/ready and /api/health check the parts (send traffic only when 200); only the
    details (/api/health) name them."""
    assert api.get("/api/health/live").json() == {"status": "ok"}
    ready = api.get("/api/health/ready")
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}  # no worker
    redis_server.stop()
    use_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        live = api.get("/api/health/live")
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        response = api.get("/api/health")
        assert response.status_code == 503
        assert set(response.json()["down"]) == {"database", "broker", "workers"}
        assert api.get("/api/health/ready").json() == {"status": "unavailable"}
    finally:
        use_settings(database_url=database)
        redis_server.start()
        forget_broker_connections()
