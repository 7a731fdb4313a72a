"""The webhook events of a batch's transitions (app.webhooks): what a subscriber is told.

Called by the transitions of app.batches.state at the moment the batch reaches the state, in
their transaction, so each transition emits once and a rolled-back one emits nothing. The
payload names the batch and its counts, never costs, prompts or settings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.batches.enums import BatchStatus
from app.batches.models import AIGenerationTask
from app.webhooks import service as webhooks
from app.webhooks.enums import EventType

# partially_completed is batch.completed too: every item ended, `status` says how.
EVENTS: dict[str, EventType] = {
    BatchStatus.COMPLETED: EventType.BATCH_COMPLETED,
    BatchStatus.PARTIALLY_COMPLETED: EventType.BATCH_COMPLETED,
    BatchStatus.FAILED: EventType.BATCH_FAILED,
    BatchStatus.CANCELLED: EventType.BATCH_CANCELLED,
    BatchStatus.PAUSED: EventType.BATCH_PAUSED,
}


def reached(session: Session, batch: AIGenerationTask) -> None:
    """The batch just reached its current status: tell the subscribers of that event."""
    event = EVENTS.get(batch.status)
    if event is not None:
        webhooks.emit(session, event, data(batch))


def data(batch: AIGenerationTask) -> dict[str, Any]:
    return {
        "task_id": batch.id,
        "status": batch.status,
        "category": batch.category,
        "language": batch.language,
        "owner": batch.owner,
        "total": batch.total,
        "completed": batch.completed,
        "failed": batch.failed,
        "cancelled": batch.cancelled,
        "needs_review": batch.needs_review,
        "error": batch.error,
        "paused_reason": batch.paused_reason,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "links": {"status": f"/api/tasks/{batch.id}/status",
                  "articles": f"/api/articles?task_id={batch.id}"},
    }
