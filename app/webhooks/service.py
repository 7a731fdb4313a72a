"""Subscriptions and events: what the API and the other domains call. Nothing here commits.

`emit(session, EventType.X, data)` is the one call a domain makes when something a subscriber
may care about happened: it writes a delivery per matching enabled subscription in the
caller's transaction and records the delivery task on the session's outbox, so the event
leaves only after the commit that made it true (a rollback sends nothing). The attempts
themselves are app.webhooks.delivery's.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.config import get_settings
from app.core import names, outbox
from app.core.models import utcnow
from app.core.text import NOT_UNICODE, has_surrogate
from app.webhooks import addresses, repository
from app.webhooks.enums import SUBSCRIBABLE, DeliveryStatus, EventType
from app.webhooks.errors import (
    DeliveryNotFound,
    SubscriptionDisabled,
    SubscriptionNotFound,
    WebhookError,
)
from app.webhooks.models import (
    MAX_DESCRIPTION,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: between 24 and 64 bytes
ATTEMPTS_SHOWN = 20  # attempts listed per delivery in the log
# How long the old secret still signs after a rotation (receivers switch in the meantime).
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return utc(moment).isoformat().replace("+00:00", "Z")


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


# --- subscriptions -------------------------------------------------------------------------

def get(session: Session, subscription_id: str) -> WebhookSubscription:
    subscription = repository.get(session, subscription_id)
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return repository.list_all(session)


def create(session: Session, *, url: object, events: object, description: object = None,
           enabled: object = True) -> tuple[WebhookSubscription, str]:
    """Store a subscription; returns it and its secret (shown this once)."""
    secret = new_secret()
    now = utcnow()
    subscription = WebhookSubscription(
        url=checked_url(url), events=clean_events(events),
        description=clean_description(description), enabled=_flag(enabled, "enabled"),
        secret=secret, created_at=now, updated_at=now)
    session.add(subscription)
    session.flush()
    return subscription, secret


def update(session: Session, subscription_id: str,
           changes: Mapping[str, Any]) -> WebhookSubscription:
    """Change url, events, enabled or description. Enabling again clears the stored reason
    and the failing clock (the receiver was fixed)."""
    subscription = get(session, subscription_id)
    if "url" in changes:
        subscription.url = checked_url(changes["url"])
    if "events" in changes:
        subscription.events = clean_events(changes["events"])
    if "description" in changes:
        subscription.description = clean_description(changes["description"])
    if "enabled" in changes:
        enabled = _flag(changes["enabled"], "enabled")
        if enabled and not subscription.enabled:
            subscription.disabled_reason = subscription.failing_since = None
        subscription.enabled = enabled
    subscription.updated_at = utcnow()
    session.flush()
    return subscription


def delete(session: Session, subscription_id: str) -> None:
    session.delete(get(session, subscription_id))  # its deliveries go with it (CASCADE)
    session.flush()


def rotate_secret(session: Session, subscription_id: str) -> tuple[WebhookSubscription, str]:
    """A new secret, used from the next attempt on (shown this once); the old one signs too
    for ROTATION_OVERLAP, so deliveries verify while the receiver switches."""
    subscription = get(session, subscription_id)
    now = utcnow()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = now + ROTATION_OVERLAP
    subscription.secret = new_secret()
    subscription.updated_at = now
    session.flush()
    return subscription, subscription.secret


def checked_url(url: object) -> str:
    return addresses.resolve(url, allow_private=get_settings().webhook_allow_private).url  # type: ignore[arg-type]


def clean_events(events: object) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise WebhookError.invalid("events", "a non-empty list of event types")
    known = {str(e) for e in SUBSCRIBABLE}
    for index, event in enumerate(events):
        if event not in known:
            raise WebhookError.invalid(f"events[{index}]", f"unknown event {event!r}; one of "
                                       + ", ".join(sorted(known)))
    return list(dict.fromkeys(str(e) for e in events))


def clean_description(description: object) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise WebhookError.invalid("description", "must be a string")
    text = " ".join(description.split())
    if len(text) > MAX_DESCRIPTION:
        raise WebhookError.invalid("description",
                                   f"at most {MAX_DESCRIPTION} characters, got {len(text)}")
    if has_surrogate(text):
        raise WebhookError.invalid("description", NOT_UNICODE)
    return text or None


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one while the
    rotation overlap lasts."""
    until = subscription.previous_secret_until
    if subscription.previous_secret and until and utc(until) > now:
        return [subscription.secret, subscription.previous_secret]
    return [subscription.secret]


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise WebhookError.invalid(field, "must be true or false")
    return value


# --- events --------------------------------------------------------------------------------

def emit(session: Session, event: EventType, data: Mapping[str, Any]) -> int:
    """Queue `event` for every enabled subscription that asked for it, after the commit.
    Returns how many deliveries were written (0 costs one small SELECT)."""
    subscriptions = [s for s in repository.enabled(session) if event in (s.events or [])]
    if subscriptions:
        _write(session, subscriptions, event, data)
    return len(subscriptions)


def send_test(session: Session, subscription_id: str) -> WebhookDelivery:
    """A `webhook.test` ping to this subscription only (whatever its events or state)."""
    subscription = get(session, subscription_id)
    return _write(session, [subscription], EventType.WEBHOOK_TEST,
                  {"subscription_id": subscription.id, "message": "ping"})[0]


def _write(session: Session, subscriptions: list[WebhookSubscription], event: EventType,
           data: Mapping[str, Any]) -> list[WebhookDelivery]:
    now = utcnow()
    body = json.dumps({"type": str(event), "timestamp": iso(now), "data": dict(data)},
                      ensure_ascii=False, separators=(",", ":"), default=_json_value)
    event_id = new_event_id()  # one event, one id, whichever subscriptions receive it
    rows = [WebhookDelivery(subscription_id=s.id, event_id=event_id, event_type=str(event),
                            body=body, status=DeliveryStatus.PENDING, attempts=0,
                            next_attempt_at=now, enqueued_at=now, created_at=now)
            for s in subscriptions]
    session.add_all(rows)
    session.flush()
    for row in rows:
        outbox.enqueue(session, names.WEBHOOK_DELIVER_TASK, [row.id], ignore_result=True)
    return rows


# --- the delivery log ----------------------------------------------------------------------

def deliveries(session: Session, subscription_id: str, *, offset: int, limit: int
               ) -> tuple[list[tuple[WebhookDelivery, list[WebhookAttempt]]], int]:
    get(session, subscription_id)
    rows, total = repository.deliveries(session, subscription_id, offset=offset, limit=limit)
    attempts = repository.attempts(session, [r.id for r in rows], ATTEMPTS_SHOWN)
    return [(row, attempts[row.id]) for row in rows], total


def delivery(session: Session, subscription_id: str, delivery_id: int
             ) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    """One delivery of the subscription and its latest attempts."""
    get(session, subscription_id)
    row = repository.delivery(session, subscription_id, delivery_id)
    if row is None:
        raise DeliveryNotFound(delivery_id)
    return row, repository.attempts(session, [row.id], ATTEMPTS_SHOWN)[row.id]


def redeliver(session: Session, subscription_id: str, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now, with its event id and body (its attempts go on counting)."""
    row, _attempts = delivery(session, subscription_id, delivery_id)
    if not get(session, subscription_id).enabled:
        raise SubscriptionDisabled(subscription_id)
    now = utcnow()
    # An attempt under way keeps its hold (locked_until): the message sent here then finds
    # the delivery taken, and never sends it twice at once.
    row.status, row.next_attempt_at, row.enqueued_at = DeliveryStatus.PENDING, now, now
    row.delivered_at = None
    session.flush()
    outbox.enqueue(session, names.WEBHOOK_DELIVER_TASK, [row.id], ignore_result=True)
    return row
