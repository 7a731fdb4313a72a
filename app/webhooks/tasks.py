"""The webhooks domain's Celery task (name in app.core.names, routed to WEBHOOK_QUEUE)."""

from __future__ import annotations

from celery import shared_task

from app.core import names
from app.webhooks import delivery


@shared_task(name=names.WEBHOOK_DELIVER_TASK, ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    """One attempt at a delivery; a message for one that is done or taken changes nothing."""
    status = delivery.attempt(delivery_id)
    return str(status) if status else None
