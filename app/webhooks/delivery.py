"""One attempt at a delivery, and the loop's catch-up of deliveries whose message was lost.

An attempt is three steps, each short: claim the delivery (one conditional UPDATE, committed,
so a second message for it finds it taken), POST it outside any transaction (no row lock held
while a receiver thinks), then record the attempt and decide what comes next: done, another
try at `next_attempt_at` (WEBHOOK_RETRY_SCHEDULE, Retry-After), or given up. A subscription
with no success for WEBHOOK_DISABLE_AFTER_HOURS is disabled with the reason.

The database is the truth: nothing waits on the broker with a countdown. Retries come due in
the table and `requeue_due` (every worker's maintenance loop) sends them, as it sends again a
first attempt whose message Redis lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.config import get_settings
from app.core import names, outbox
from app.core.db import session_scope
from app.core.models import utcnow
from app.webhooks import addresses, repository
from app.webhooks.backoff import next_delay
from app.webhooks.enums import DeliveryStatus, EventType
from app.webhooks.errors import UnsafeUrl
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from app.webhooks.sender import Outcome, post
from app.webhooks.service import signing_secrets, utc

log = logging.getLogger(__name__)

REQUEUE_INTERVAL = 1.0  # seconds between the loop's looks for due deliveries
REQUEUE_BATCH = 200  # deliveries sent per look at most
_HOLD_MARGIN = 30.0  # seconds a claim outlives the timeout (a worker killed mid-attempt)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempt: int
    event_id: str
    body: str
    url: str
    secrets: tuple[str, ...]


def attempt(delivery_id: int) -> DeliveryStatus | None:
    """Try a delivery once, if it is pending, due and nobody else is trying it."""
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    started = utcnow()
    outcome = _send(claimed, started)
    with session_scope() as session:
        return _record(session, claimed, started, outcome)


def _claim(delivery_id: int) -> Claimed | None:
    settings = get_settings()
    with session_scope() as session:
        now = utcnow()
        hold = timedelta(seconds=settings.webhook_timeout_seconds + _HOLD_MARGIN)
        if not repository.claim(session, delivery_id, now, now + hold):
            return None
        row = session.get(WebhookDelivery, delivery_id)
        subscription = session.get(WebhookSubscription, row.subscription_id) if row else None
        if row is None or subscription is None:
            return None
        if not subscription.enabled and row.event_type != EventType.WEBHOOK_TEST:
            _end(row, DeliveryStatus.FAILED, subscription.disabled_reason
                 or "the subscription is disabled")
            return None
        return Claimed(row.id, row.attempts + 1, row.event_id, row.body, subscription.url,
                       tuple(signing_secrets(subscription, now)))


def _send(claimed: Claimed, now: datetime) -> Outcome:
    settings = get_settings()
    try:  # again at each attempt: the name may point elsewhere since the subscription was made
        target = addresses.resolve(claimed.url, allow_private=settings.webhook_allow_private)
    except UnsafeUrl as exc:
        return Outcome(False, error=str(exc))
    # One signature per secret, space-separated: Standard Webhooks' way through a rotation.
    signature = " ".join(Webhook(secret).sign(claimed.event_id, now, claimed.body)
                         for secret in claimed.secrets)
    headers = {"webhook-id": claimed.event_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": signature}
    return post(target, claimed.body, headers, settings.webhook_timeout_seconds)


def _record(session: Session, claimed: Claimed, started: datetime,
            outcome: Outcome) -> DeliveryStatus | None:
    settings = get_settings()
    row = session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    subscription = session.get(WebhookSubscription, row.subscription_id) if row else None
    if row is None or subscription is None:  # deleted while we were sending
        return None
    now = utcnow()
    session.add(WebhookAttempt(
        delivery_id=row.id, attempt=claimed.attempt, started_at=started,
        succeeded=outcome.succeeded,
        http_status=outcome.http_status, latency_ms=outcome.latency_ms,
        response_excerpt=outcome.excerpt, error=outcome.error and outcome.error[:2000]))
    row.attempts = claimed.attempt
    if outcome.succeeded:
        row.delivered_at = now
        subscription.failing_since = None
        return _end(row, DeliveryStatus.SUCCEEDED, None)
    subscription.failing_since = (utc(subscription.failing_since)
                                  if subscription.failing_since else now)
    failing_for = now - subscription.failing_since
    if subscription.enabled and failing_for >= timedelta(
            hours=settings.webhook_disable_after_hours):
        _disable(session, subscription, now, failing_for, outcome.error)
        return _end(row, DeliveryStatus.FAILED, outcome.error)
    delay = next_delay(claimed.attempt, settings.webhook_retry_schedule, outcome.retry_after)
    if delay is None:
        return _end(row, DeliveryStatus.FAILED, outcome.error)
    row.last_error, row.locked_until, row.enqueued_at = outcome.error, None, None
    row.next_attempt_at = now + timedelta(seconds=delay)
    log.info("webhook %s attempt %s failed (%s); next in %.1f s", row.event_id,
             claimed.attempt, outcome.error, delay)
    return DeliveryStatus.PENDING


def _end(row: WebhookDelivery, status: DeliveryStatus, error: str | None) -> DeliveryStatus:
    row.status, row.last_error = status, error
    row.next_attempt_at = row.locked_until = row.enqueued_at = None
    return status


def _disable(session: Session, subscription: WebhookSubscription, now: datetime,
             failing_for: timedelta, error: str | None) -> None:
    hours = failing_for.total_seconds() / 3600
    reason = (f"disabled at {now:%Y-%m-%d %H:%M:%S}Z: every attempt failed for {hours:.2f} h "
              f"(WEBHOOK_DISABLE_AFTER_HOURS); last error: {error or 'unknown'}")[:2000]
    subscription.enabled = False
    subscription.disabled_reason = reason
    repository.give_up_pending(session, subscription.id, reason)
    log.warning("webhook subscription %s %s", subscription.id, reason)


def requeue_due() -> int:
    """Send the deliveries that are due and not on the broker (retries that came due, and
    messages Redis lost: sent longer ago than WEBHOOK_REQUEUE_GRACE_SECONDS and never tried).
    Safe in two workers at once: a delivery sent twice is claimed once."""
    grace = timedelta(seconds=get_settings().webhook_requeue_grace_seconds)
    with session_scope() as session:
        now = utcnow()
        ids = repository.due_unsent(session, now, now - grace, REQUEUE_BATCH)
        if ids:
            repository.mark_sent(session, ids, now)
            for delivery_id in ids:
                outbox.enqueue(session, names.WEBHOOK_DELIVER_TASK, [delivery_id],
                               ignore_result=True)
    return len(ids)
