"""All of the webhooks domain's SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.webhooks.enums import DeliveryStatus
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def get(session: Session, subscription_id: str) -> WebhookSubscription | None:
    return session.get(WebhookSubscription, subscription_id)


def list_all(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(
        select(WebhookSubscription).order_by(WebhookSubscription.created_at,
                                             WebhookSubscription.id)))


def enabled(session: Session) -> list[WebhookSubscription]:
    """The enabled subscriptions (few: the caller filters them by event in Python)."""
    return list(session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.enabled.is_(True))))


def delivery(session: Session, subscription_id: str, delivery_id: int) -> WebhookDelivery | None:
    row = session.get(WebhookDelivery, delivery_id)
    return row if row is not None and row.subscription_id == subscription_id else None


def deliveries(session: Session, subscription_id: str, *, offset: int,
               limit: int) -> tuple[list[WebhookDelivery], int]:
    where = WebhookDelivery.subscription_id == subscription_id
    rows = list(session.scalars(select(WebhookDelivery).where(where)
                                .order_by(WebhookDelivery.id.desc())
                                .offset(offset).limit(limit)))
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(where))
    return rows, int(total or 0)


def attempts(session: Session, delivery_ids: Sequence[int],
             per_delivery: int) -> dict[int, list[WebhookAttempt]]:
    """The latest `per_delivery` attempts of each delivery, newest first."""
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    rows = session.scalars(select(WebhookAttempt)
                           .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
                           .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt.desc()))
    for row in rows:
        if len(found[row.delivery_id]) < per_delivery:
            found[row.delivery_id].append(row)
    return found


def claim(session: Session, delivery_id: int, now: datetime, until: datetime) -> bool:
    """Take a pending delivery that is due and not held by another attempt (one UPDATE)."""
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now,
               or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now))
        .values(locked_until=until)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def due_unsent(session: Session, now: datetime, sent_before: datetime,
               limit: int) -> list[int]:
    """Pending deliveries that are due, not held by an attempt, and not on the broker (never
    sent, or sent before `sent_before`: that message was lost)."""
    return list(session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now,
               or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
               or_(WebhookDelivery.enqueued_at.is_(None),
                   WebhookDelivery.enqueued_at < sent_before))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)))


def mark_sent(session: Session, delivery_ids: Sequence[int], now: datetime) -> None:
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(list(delivery_ids)))
                    .values(enqueued_at=now).execution_options(synchronize_session=False))


def give_up_pending(session: Session, subscription_id: str, reason: str) -> None:
    """The subscription was disabled: its pending deliveries end failed with the reason."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id,
               WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, last_error=reason, next_attempt_at=None,
                enqueued_at=None)
        .execution_options(synchronize_session=False))
