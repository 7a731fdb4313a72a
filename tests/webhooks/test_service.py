"""The webhooks service: subscriptions' input, events written per subscription, secrets
and their rotation, redelivery (the shared unit database, no worker)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.db import session_scope
from app.webhooks import service
from app.webhooks.enums import DeliveryStatus, EventType
from app.webhooks.errors import WebhookError
from app.webhooks.models import WebhookDelivery


def test_events_and_description_are_checked(private_allowed):
    with session_scope() as session:
        with pytest.raises(WebhookError, match=r"events\[1\]: unknown event"):
            service.create(session, url="http://127.0.0.1/", events=["batch.completed", "x"])
        with pytest.raises(WebhookError, match="events: a non-empty list"):
            service.create(session, url="http://127.0.0.1/", events=[])
        with pytest.raises(WebhookError, match="description: at most 500"):
            service.create(session, url="http://127.0.0.1/", events=["batch.paused"],
                           description="字" * 501)
        subscription, secret = service.create(
            session, url="http://127.0.0.1/", events=["batch.paused", "batch.paused"],
            description="夜间批次 nightly")
        assert subscription.events == ["batch.paused"]
        assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44


def test_emit_writes_one_delivery_per_matching_enabled_subscription(private_allowed):
    with session_scope() as session:
        wanted, _ = service.create(session, url="http://127.0.0.1:9/a",
                                   events=["batch.completed"])
        service.create(session, url="http://127.0.0.1:9/b", events=["batch.failed"])
        service.create(session, url="http://127.0.0.1:9/c", events=["batch.completed"],
                       enabled=False)
        assert service.emit(session, EventType.BATCH_COMPLETED, {"task_id": "t"}) == 1
    with session_scope() as session:
        (row,) = session.query(WebhookDelivery).all()
        assert row.subscription_id == wanted.id and row.event_id.startswith("msg_")
        assert '"type":"batch.completed"' in row.body


def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(private_allowed):
    with session_scope() as session:
        subscription, first = service.create(session, url="http://127.0.0.1:9/",
                                             events=["batch.failed"])
        now = subscription.created_at
        assert service.signing_secrets(subscription, now) == [first]
        _, second = service.rotate_secret(session, subscription.id)
        assert service.signing_secrets(subscription, now) == [second, first]
        later = now + service.ROTATION_OVERLAP + timedelta(seconds=1)
        assert service.signing_secrets(subscription, later) == [second]


def test_a_redelivery_goes_out_again_with_its_event_id_and_body(private_allowed):
    """Redeliver makes a finished delivery due now: same id and body, attempts go on."""
    with session_scope() as session:
        subscription, _ = service.create(session, url="http://127.0.0.1:9/",
                                         events=["batch.failed"])
        row = service.send_test(session, subscription.id)
        row.status, row.attempts = DeliveryStatus.FAILED, 10
        row.next_attempt_at = row.enqueued_at = None
        event_id, body = row.event_id, row.body
    with session_scope() as session:
        again = service.redeliver(session, subscription.id, row.id)
        assert (again.status, again.event_id, again.body, again.attempts) == (
            DeliveryStatus.PENDING, event_id, body, 10)
        assert again.next_attempt_at is not None
        with pytest.raises(WebhookError) as missing:
            service.redeliver(session, subscription.id, row.id + 1)
        assert missing.value.status_code == 404
