"""Issue 22's signed webhooks against a real receiver process, real Celery workers, the real
Redis (restarted) and both databases: signatures, retries with one id, Retry-After, no
redirects, timeouts, after-commit only, the batch and article events, disabling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.db import session_scope
from app.webhooks import service
from app.webhooks.enums import EventType
from tests.support.api_helpers import submit, wait_final
from tests.support.faults import queue_length
from tests.support.stack import use_settings, wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.webhooks import deliveries, subscribe, verified, wait_delivery

# Quick retries; the last steps are longer so that a Retry-After of 3 s is within the cap.
FAST = {"WEBHOOK_RETRY_SCHEDULE": ",".join(["0.5"] * 20 + ["5"] * 6),
        "WEBHOOK_REQUEUE_GRACE_SECONDS": "2", "WEBHOOK_TIMEOUT_SECONDS": "1"}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def private_ok(database: str) -> Iterator[None]:
    """The receiver listens on 127.0.0.1: allowed here and in the workers (inherited)."""
    use_settings(webhook_allow_private="true", **{k.lower(): v for k, v in FAST.items()})
    yield
    use_settings(webhook_allow_private=None, **{k.lower(): None for k in FAST})


def _hook_requests(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    return [r for r in receiver.requests() if r["path"] == "/hook"]


def test_signed_retried_with_one_id_and_retry_after(api, private_ok, receiver, start_worker):
    start_worker(concurrency=2)
    sub, secret = subscribe(api, receiver.url, ["batch.completed"])
    receiver.behave(fail=2, status=503)
    assert api.post(f"/api/webhooks/{sub}/test").status_code == 202
    (delivery,) = wait_delivery(api, sub, "succeeded")
    got = _hook_requests(receiver)
    assert len(got) == 3
    assert len({r["headers"]["webhook-id"] for r in got}) == 1
    assert got[0]["headers"]["webhook-id"] == delivery["event_id"]
    assert delivery["event_id"].startswith("msg_")
    for request in got:
        body = verified(secret, request)
        assert body["type"] == "webhook.test" and body["data"]["subscription_id"] == sub
    log = sorted(delivery["attempt_log"], key=lambda a: a["attempt"])
    assert [(a["attempt"], a["succeeded"], a["http_status"]) for a in log] == [
        (1, False, 503), (2, False, 503), (3, True, 200)]
    assert len(log[0]["response_excerpt"].encode()) <= 1024 and log[0]["error"] == "HTTP 503"
    assert log[2]["response_excerpt"] == "ok 好" and log[2]["latency_ms"] >= 0

    # A 429 with Retry-After: 3 waits at least 3 s, though the schedule says 0.5 s.
    receiver.behave(fail=1, status=429, retry_after=3)
    assert api.post(f"/api/webhooks/{sub}/test").status_code == 202
    wait_delivery(api, sub, "succeeded", count=2)
    first, second = _hook_requests(receiver)[3:]
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert second["at"] - first["at"] >= 2.9

    # A rotated secret signs the next deliveries, and the old one too while receivers switch.
    rotated = api.post(f"/api/webhooks/{sub}/rotate-secret").json()["secret"]
    assert rotated != secret and "secret" not in api.get(f"/api/webhooks/{sub}").json()
    assert all("secret" not in s for s in api.get("/api/webhooks").json()["items"])
    api.post(f"/api/webhooks/{sub}/test")
    wait_delivery(api, sub, "succeeded", count=3)
    last = _hook_requests(receiver)[-1]
    assert verified(rotated, last)["type"] == verified(secret, last)["type"] == "webhook.test"
    assert len(last["headers"]["webhook-signature"].split(" ")) == 2


def test_no_redirect_followed_and_a_hang_times_out(api, private_ok, receiver, start_worker):
    start_worker(concurrency=2)
    sub, _ = subscribe(api, receiver.url, ["article.approved"])
    receiver.behave(plan=[{"hang": 3}, {"redirect": f"{receiver.base}/elsewhere"}])
    api.post(f"/api/webhooks/{sub}/test")
    (delivery,) = wait_delivery(api, sub, "succeeded")
    log = sorted(delivery["attempt_log"], key=lambda a: a["attempt"])
    assert len(log) == 3 and "no answer within 1 s" in log[0]["error"]
    assert log[1]["http_status"] == 302 and not log[1]["succeeded"]
    assert f"redirect to {receiver.base}/elsewhere not followed" in log[1]["error"]
    assert log[2]["succeeded"]
    assert not [r for r in receiver.requests() if r["path"] == "/elsewhere"]


def test_sent_only_after_the_commit(api, private_ok, receiver, start_worker):
    sub, _ = subscribe(api, receiver.url, ["batch.failed"])
    with pytest.raises(RuntimeError), session_scope() as session:
        assert service.emit(session, EventType.BATCH_FAILED, {"task_id": "rolled-back"}) == 1
        raise RuntimeError("the caller's transaction fails")
    with session_scope() as session:
        service.emit(session, EventType.BATCH_FAILED, {"task_id": "committed"})
        session.flush()
        assert queue_length("webhooks") == 0  # nothing on the broker before the commit
    assert queue_length("webhooks") == 1
    start_worker(concurrency=1)
    wait_delivery(api, sub, "succeeded")
    assert [e["data"]["task_id"] for e in receiver.events()] == ["committed"]
    assert len(deliveries(api, sub)) == 1


def test_every_event_arrives_after_the_receiver_and_redis_were_down(
        api, private_ok, tmp_path, redis_server, start_worker):
    receiver = WebhookReceiver(tmp_path)  # not started: down
    sub, secret = subscribe(api, receiver.url, ["batch.completed"])
    start_worker(concurrency=2)
    api.post(f"/api/webhooks/{sub}/test")
    wait_for(lambda: deliveries(api, sub)[0]["attempts"] >= 1, timeout=30,
             message="an attempt at the receiver that is down")
    redis_server.stop()
    try:
        # Committed while the broker is down: its message is lost, its row is not.
        assert api.post(f"/api/webhooks/{sub}/test").status_code == 202
    finally:
        redis_server.start()
    receiver.start()
    try:
        rows = wait_delivery(api, sub, "succeeded", count=2, timeout=90)
        ids = {r["event_id"] for r in rows}
        got = {r["headers"]["webhook-id"] for r in _hook_requests(receiver)}
        assert got == ids and len(ids) == 2
        assert all(verified(secret, r) for r in _hook_requests(receiver))
    finally:
        receiver.stop()


def test_batch_completed_and_article_approved(api, private_ok, receiver, start_worker):
    sub, secret = subscribe(api, receiver.url, ["batch.completed", "article.approved"])
    start_worker(concurrency=2)
    batch = submit(api, ["Choosing a savings account", "如何选择储蓄账户"])
    wait_final(api, batch["task_id"])
    wait_delivery(api, sub, "succeeded")
    (completed,) = [verified(secret, r) for r in _hook_requests(receiver)]
    assert completed["type"] == "batch.completed" and completed["timestamp"].endswith("Z")
    data = completed["data"]
    assert (data["task_id"], data["total"], data["completed"]) == (batch["task_id"], 2, 2)
    assert data["links"]["status"] == f"/api/tasks/{batch['task_id']}/status"
    assert "cost_usd" not in data

    articles = api.get("/api/articles", params={"task_id": batch["task_id"]}).json()["items"]
    article = articles[0]
    assert api.post(f"/api/articles/{article['id']}/approve",
                    json={"version": article["version"]}).status_code == 200
    wait_delivery(api, sub, "succeeded", count=2)
    approved = verified(secret, _hook_requests(receiver)[-1])
    assert approved["type"] == "article.approved"
    assert (approved["data"]["article_id"], approved["data"]["status"]) == (
        article["id"], "approved")
    assert "content" not in approved["data"] and "cost_usd" not in approved["data"]


def test_a_subscription_failing_for_the_window_is_disabled(api, private_ok, receiver,
                                                          start_worker):
    start_worker(concurrency=2, WEBHOOK_DISABLE_AFTER_HOURS="0.0005")  # 1.8 s
    sub, _ = subscribe(api, receiver.url, ["batch.failed"])
    receiver.behave(fail=-1, status=500)
    api.post(f"/api/webhooks/{sub}/test")

    def disabled() -> dict[str, Any] | None:
        body = api.get(f"/api/webhooks/{sub}").json()
        return body if not body["enabled"] else None

    body = wait_for(disabled, timeout=60, interval=0.2, message="the subscription disabled")
    assert "every attempt failed" in body["disabled_reason"]
    assert "HTTP 500" in body["disabled_reason"]
    (delivery,) = deliveries(api, sub)
    assert delivery["status"] == "failed" and delivery["attempts"] >= 2
    assert api.post(f"/api/webhooks/{sub}/deliveries/{delivery['id']}/redeliver"
                    ).status_code == 409
    enabled = api.patch(f"/api/webhooks/{sub}", json={"enabled": True}).json()
    assert enabled["enabled"] and enabled["disabled_reason"] is None
