"""Where a webhook may go: http(s) only, at most 2000 characters, no private addresses unless
WEBHOOK_ALLOW_PRIVATE, checked when stored and again at each attempt."""

from __future__ import annotations

import ipaddress

import pytest

from app.core.db import session_scope
from app.webhooks import addresses, delivery, service
from app.webhooks.enums import DeliveryStatus, EventType
from app.webhooks.errors import UnsafeUrl
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.support.stack import use_settings


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "http://localhost/hook", "http://10.1.2.3/",
    "http://192.168.0.10/", "http://169.254.169.254/latest/meta-data", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://224.0.0.1/", "http://[fe80::1]/",
    "http://240.0.0.1/",
])
def test_private_addresses_are_refused(private_off, url):
    with pytest.raises(UnsafeUrl) as refused, session_scope() as session:
        service.create(session, url=url, events=["batch.completed"])
    assert refused.value.field == "url" and "WEBHOOK_ALLOW_PRIVATE" in refused.value.message
    assert refused.value.status_code == 422


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://example.com/", "http:// or https://"), ("example.com/hook", "http:// or https://"),
    ("https://" + "a" * 2000 + ".com/", "at most 2000 characters"),
    ("https://user:pw@example.com/", "user name or password"), ("https:///nohost", "no host"),
    ("https://exa mple.com/", "spaces"), ("http://example.com:99999/", "not a valid URL"),
])
def test_bad_urls_are_refused_naming_the_field(private_off, url, says):
    with pytest.raises(UnsafeUrl) as refused:
        addresses.check_shape(url)
    assert says in str(refused.value) and str(refused.value).startswith("url: ")


def test_public_addresses_pass_and_allow_private_lifts_only_the_address_rule(db):
    assert addresses.is_public(ipaddress.ip_address("93.184.215.14"))
    assert addresses.is_public(ipaddress.ip_address("2606:4700::1111"))
    target = addresses.resolve("http://127.0.0.1:9/x", allow_private=True)
    assert (target.address, target.port, target.host) == ("127.0.0.1", 9, "127.0.0.1")
    with pytest.raises(UnsafeUrl):
        addresses.resolve("ftp://127.0.0.1/", allow_private=True)


def test_the_address_is_checked_again_at_delivery_time(db):
    """Allowed when stored; refused at the attempt once the rule applies (DNS may change)."""
    use_settings(webhook_allow_private="true")
    with session_scope() as session:
        subscription, _ = service.create(session, url="http://127.0.0.1:9/hook",
                                         events=["batch.completed"])
        service.emit(session, EventType.BATCH_COMPLETED, {"task_id": "t"})
    use_settings(webhook_allow_private=None)
    with session_scope() as session:
        delivery_id = session.query(WebhookDelivery.id).scalar()
    assert delivery.attempt(delivery_id) == DeliveryStatus.PENDING
    with session_scope() as session:
        (attempt,) = session.query(WebhookAttempt).all()
        assert not attempt.succeeded and attempt.http_status is None
        assert "resolves to 127.0.0.1" in (attempt.error or "")
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None and row.attempts == 1 and row.next_attempt_at is not None
