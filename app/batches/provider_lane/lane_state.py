"""The transitions of the Batch API lane's items (app.batches.provider_lane.lane): sent to a
provider batch,
then ended in bulk from its output. The same rules as app.batches.state, whose helpers they use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from app.batches import repository, state
from app.batches.enums import ItemStatus
from app.batches.models import GenerationItem
from app.batches.progress import Snapshot
from app.core.models import utcnow
from app.llm.base import Generated


def send_to_lane(session: Session, batch_id: str, provider_batch_id: str,
                 item_ids: list[int]) -> Snapshot:
    """pending → processing inside a provider batch: one attempt each, no lease (the provider
    holds them; the reaper leaves them alone, the poller ends them)."""
    now = utcnow()
    batch = state.lock_batch(session, batch_id)
    session.execute(
        update(GenerationItem)
        .where(GenerationItem.id.in_(item_ids), GenerationItem.task_id == batch_id,
               GenerationItem.status == ItemStatus.PENDING)
        .values(status=ItemStatus.PROCESSING, attempts=GenerationItem.attempts + 1,
                worker=repository.LANE_WORKER + provider_batch_id,
                provider_batch_id=provider_batch_id,
                started_at=func.coalesce(GenerationItem.started_at, now), enqueued_at=now,
                lease_expires_at=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return state.refresh_batch(session, batch_id, batch)


@dataclass(frozen=True)
class LaneOutcome:
    """How one line of a provider batch ended: an answer, or an error to retry or fail on."""

    item: GenerationItem
    generated: Generated | None = None
    cost_usd: float | None = None
    error: str | None = None
    retry: bool = False  # hand back to the real-time lane


def end_lane_items(session: Session, batch_id: str, category: str,
                   outcomes: list[LaneOutcome]) -> tuple[Snapshot | None, list[int]]:
    """End the lines of a provider batch in one transaction and recount once. Lines of a
    cancelled batch that have no answer are cancelled. Returns the snapshot and the ids handed
    back to the real-time lane (retrying, due now, in the backlog: kick the feeder)."""
    batch = state.lock_batch(session, batch_id)
    if batch is None:
        return None, []
    now, retried = utcnow(), []
    for out in outcomes:
        error = (out.error or "")[:2000]
        if out.generated is not None:
            state.store_article(session, batch, out.item, category, out.generated,
                                out.cost_usd, "batch")
        elif batch.cancel_requested:
            state.end_processing(session, out.item, status=ItemStatus.CANCELLED,
                                 error="cancelled", finished_at=now)
        elif out.retry:
            if state.end_processing(session, out.item, status=ItemStatus.RETRYING, error=error,
                                    next_attempt_at=now, enqueued_at=None):
                retried.append(out.item.id)
        else:
            state.end_processing(session, out.item, status=ItemStatus.FAILED, error=error,
                                 finished_at=now)
    return state.refresh_batch(session, batch_id, batch), retried
