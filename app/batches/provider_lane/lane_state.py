"""The transitions of the Batch API lane (app.batches.provider_lane.lane): its items, and the
record of each provider batch in the batch's `extra["provider_batches"]` (what readers see).
The same rules as app.batches.state, whose helpers they use; every function here is called in
a transaction and locks the batch row first.

A provider batch is recorded before it exists, so a crash between the provider's
`batches.create` and the commit cannot leave a paid batch the service never learns about:

1. `record_intent`: the uploaded input file and a local intent id are committed (an entry with
   status "creating") and the items are `processing`, held by the intent (worker
   `batch-api:<intent>`, provider_batch_id = the intent), no attempt counted yet;
2. the provider batch is created with the intent in its metadata (`INTENT_KEY`);
3. `adopt`: the entry and the items take the provider batch's id, one attempt counted each.

An intent still "creating" after a grace is the poller's: it looks the provider batch up by its
metadata and adopts it, or creates it then (or `release_intent` hands the items to real time).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from app.batches import repository, state
from app.batches.enums import ItemStatus
from app.batches.generation import answer
from app.batches.generation.answer import Answer
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot
from app.core.models import utcnow
from app.llm.batch_lane import BatchState

CREATING = "creating"  # an entry's status from the intent until the provider batch is known
INTENT_KEY = "trustagency_intent"  # the provider batch's metadata naming its intent
_INTENT_PREFIX = "intent-"


def new_intent() -> str:
    """A local id for a provider batch about to be created (fits provider_batch_id)."""
    return _INTENT_PREFIX + uuid.uuid4().hex[:24]


def entries(batch: AIGenerationTask) -> list[dict[str, Any]]:
    return list((batch.extra or {}).get("provider_batches", []))


def entry_of(batch: AIGenerationTask, key: str) -> dict[str, Any] | None:
    """The record of a provider batch, by its id or by the intent it was created for."""
    return next((e for e in entries(batch) if key in (e["id"], e.get("intent"))), None)


def _put(batch: AIGenerationTask, entry: dict[str, Any], key: str | None = None) -> None:
    """Add or update (merge into) the entry found by `key` (default: its id). A new dict: JSON
    columns only notice assignment."""
    key = key or entry["id"]
    known = entry_of(batch, key) or {}
    kept = [e for e in entries(batch) if e is not known]
    batch.extra = {**(batch.extra or {}), "provider_batches": [*kept, {**known, **entry}]}


def save_entry(session: Session, batch_id: str, entry: dict[str, Any]) -> AIGenerationTask:
    """Record what a poll saw of one provider batch (status, counts, errors)."""
    batch = state.lock_batch(session, batch_id)
    assert batch is not None
    _put(batch, entry)
    return batch


def record_intent(session: Session, batch_id: str, intent: str, file_id: str,
                  item_ids: list[int], hold: dict[str, Any] | None) -> Snapshot | None:
    """pending → processing, held by a provider batch about to be created from `file_id`;
    `hold` is its budget reservation (settled with the real cost once the lines are read).
    None, and nothing recorded, when the batch may no longer run or none of the items waits."""
    batch = state.lock_batch(session, batch_id)
    if batch is None or not state.is_dispatchable(batch):
        return None
    now = utcnow()
    moved = session.execute(
        update(GenerationItem)
        .where(GenerationItem.id.in_(item_ids), GenerationItem.task_id == batch_id,
               GenerationItem.status == ItemStatus.PENDING,
               GenerationItem.provider_batch_id.is_(None))
        .values(status=ItemStatus.PROCESSING, worker=repository.LANE_WORKER + intent,
                provider_batch_id=intent,
                started_at=func.coalesce(GenerationItem.started_at, now), enqueued_at=now,
                lease_expires_at=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        return None
    entry: dict[str, Any] = {"id": intent, "intent": intent, "status": CREATING,
                             "file": file_id, "created": time.time(), "total": moved,
                             "completed": 0, "failed": 0}
    if hold is not None:
        entry["hold"] = hold
    _put(batch, entry)
    return state.refresh_batch(session, batch_id, batch)


def _move_items(session: Session, batch_id: str, held_by: str, **values: Any) -> int:
    result = session.execute(
        update(GenerationItem)
        .where(GenerationItem.task_id == batch_id, GenerationItem.provider_batch_id == held_by,
               GenerationItem.status == ItemStatus.PROCESSING,
               GenerationItem.worker == repository.LANE_WORKER + held_by)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def adopt(session: Session, batch_id: str, intent: str, found: BatchState) -> bool:
    """The provider batch `found` was created for `intent`: its items are held by it now, one
    attempt counted each. True when it is the intent's provider batch (also when adopted
    before); False when the intent was released, or adopted another provider batch (a second
    one: the caller cancels it)."""
    batch = state.lock_batch(session, batch_id)
    entry = entry_of(batch, intent) if batch is not None else None
    if batch is None or entry is None:
        return False
    if entry["id"] != intent:
        return bool(entry["id"] == found.id)
    _move_items(session, batch_id, intent, provider_batch_id=found.id,
                worker=repository.LANE_WORKER + found.id,
                attempts=GenerationItem.attempts + 1)
    _put(batch, {"id": found.id, "status": found.status,
                 "total": found.total or entry["total"], "completed": found.completed,
                 "failed": found.failed}, key=intent)
    return True


def release_intent(session: Session, batch_id: str, intent: str | None,
                   note: str) -> tuple[Snapshot | None, dict[str, Any] | None]:
    """No provider batch will be made (the provider refused it): the intent's items wait again
    and the batch is written in real time with `note` (app.batches.state.run_in_realtime);
    items of a batch being cancelled end cancelled instead. Returns the snapshot and the
    intent's entry (its budget hold is the caller's to release). `intent` None: no intent was
    recorded yet (the upload failed)."""
    batch = state.lock_batch(session, batch_id)
    if batch is None:
        return None, None
    entry = entry_of(batch, intent) if intent is not None else None
    if intent is not None and (entry is None or entry["id"] != intent):
        return None, None  # released before, or adopted meanwhile: its provider batch exists
    if entry is not None:
        batch.extra = {**(batch.extra or {}),
                       "provider_batches": [e for e in entries(batch) if e is not entry]}
    if batch.cancel_requested:
        if intent is not None:
            _move_items(session, batch_id, intent, status=ItemStatus.CANCELLED,
                        error="cancelled", finished_at=utcnow())
    else:
        if intent is not None:
            _move_items(session, batch_id, intent, status=ItemStatus.PENDING, worker=None,
                        provider_batch_id=None, enqueued_at=None)
        state.run_in_realtime(batch, note)
    return state.refresh_batch(session, batch_id, batch), entry


@dataclass(frozen=True)
class LaneOutcome:
    """How one line of a provider batch ended: an answer (priced and judged, as in real time),
    or an error to hand back to real time or fail on."""

    item: GenerationItem
    answer: Answer | None = None
    error: str | None = None
    retry: bool = False  # hand back to the real-time lane


def end_lane_items(session: Session, batch_id: str,
                   outcomes: list[LaneOutcome]) -> tuple[Snapshot | None, list[int]]:
    """End lines of a provider batch in one transaction and recount once. An answer takes the
    real-time path (app.batches.generation.answer: stored, kept for review, or written again
    in real time); lines of a cancelled batch that have no answer are cancelled. Returns the
    snapshot and the ids handed back to the real-time lane (retrying, due now, in the backlog:
    announce the work)."""
    batch = state.lock_batch(session, batch_id)
    if batch is None:
        return None, []
    now, retried = utcnow(), []
    for out in outcomes:
        error = (out.error or "")[:2000]
        if out.answer is not None:
            if answer.keep(session, batch, out.answer) == ItemStatus.RETRYING:
                retried.append(out.item.id)
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
    return answer.progress(session, batch), retried
