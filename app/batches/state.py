"""The batch/item state machine: every status change goes through a function here.

Each transition is one conditional UPDATE whose row count says whether it happened, so two
workers (or a worker and the reaper) racing on one item cannot both win. Item transitions that
end an item also recount the batch while holding its row lock, so counts add up and progress
never goes backwards.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.articles import service as articles
from app.articles.enums import ArticleStatus
from app.articles.models import Article
from app.batches import events, repository
from app.batches.enums import (
    BATCH_FINAL,
    ITEM_FINAL,
    ITEM_WAITING,
    BatchMode,
    BatchStatus,
    ItemStatus,
)
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot
from app.batches.spend import costs
from app.batches.spend.budget import Refusal
from app.core.logs import mask_secrets
from app.core.models import utcnow
from app.llm.base import Generated

log = logging.getLogger(__name__)


def is_dispatchable(batch: AIGenerationTask) -> bool:
    """May this batch's waiting items be handed to workers (and claimed)? Not once it ended, was
    cancelled, or while it is paused by a budget. The SQL twin is repository.dispatchable()."""
    return (batch.status not in BATCH_FINAL and batch.status != BatchStatus.PAUSED
            and not batch.cancel_requested)


def lock_batch(session: Session, batch_id: str) -> AIGenerationTask | None:
    """Load the batch row locked for update (PostgreSQL; SQLite serialises writers anyway)."""
    return session.execute(
        select(AIGenerationTask).where(AIGenerationTask.id == batch_id).with_for_update()
    ).scalar_one_or_none()


def _final_status(batch: AIGenerationTask) -> str:
    # Cancelled items stay cancelled when an editor regenerates another item of the batch
    # (reopen_for_regeneration lowers the flag so that item can run).
    if batch.cancel_requested or batch.cancelled:
        return BatchStatus.CANCELLED
    if batch.completed == batch.total:
        return BatchStatus.COMPLETED
    if batch.completed == 0:
        return BatchStatus.FAILED
    return BatchStatus.PARTIALLY_COMPLETED


def refresh_batch(
    session: Session, batch_id: str, locked: AIGenerationTask | None = None
) -> Snapshot:
    """Recount a batch from its items and move it to its next state. Call inside a transaction;
    pass `locked` when this transaction already holds the batch row's lock."""
    batch = locked or lock_batch(session, batch_id)
    if batch is None:
        raise LookupError(batch_id)
    session.flush()
    counts: dict[str, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(GenerationItem.status, func.count())
            .where(GenerationItem.task_id == batch_id)
            .group_by(GenerationItem.status)
        ).all()
    )
    now = utcnow()
    batch.completed = counts.get(ItemStatus.COMPLETED, 0)
    batch.failed = counts.get(ItemStatus.FAILED, 0)
    batch.cancelled = counts.get(ItemStatus.CANCELLED, 0)
    batch.regenerated, batch.needs_review = _quality_counts(session, batch_id)
    done = batch.completed + batch.failed + batch.cancelled
    answered = _answered_by_provider(batch, counts.get(ItemStatus.PROCESSING, 0))
    progress = int((done + answered) * 100 / batch.total) if batch.total else 100
    batch.progress = max(batch.progress or 0, progress)
    batch.last_progress_update = now
    if batch.status not in BATCH_FINAL:
        if batch.total and done >= batch.total:
            batch.status = _final_status(batch)
            batch.finished_at = now
            batch.celery_status = "SUCCESS"
            batch.started_at = batch.started_at or now
            events.reached(session, batch)
        elif batch.status == BatchStatus.PAUSED:
            pass  # only resume_batch (or the end of every item) moves it on
        elif done or counts.get(ItemStatus.PROCESSING) or counts.get(ItemStatus.RETRYING):
            batch.status = BatchStatus.PROCESSING
            batch.started_at = batch.started_at or now
            batch.celery_status = "PROGRESS"
    return Snapshot.of(batch)


def _answered_by_provider(batch: AIGenerationTask, processing: int) -> int:
    """Lines a provider batch says it answered count toward the progress before they are read
    and become ended items (app.batches.provider_lane); never more than the items still
    processing, so an item is not counted twice while its provider batch is being read."""
    answered = sum(int(e.get("completed") or 0)
                   for e in (batch.extra or {}).get("provider_batches", [])
                   if not e.get("settled"))
    return min(answered, processing)


def _quality_counts(session: Session, batch_id: str) -> tuple[int, int]:
    """(items written again after a failed quality check, articles that need review)."""
    regenerated = select(func.count()).select_from(GenerationItem).where(
        GenerationItem.task_id == batch_id, GenerationItem.regenerations > 0)
    needs_review = select(func.count()).select_from(Article).where(
        Article.task_id == batch_id, Article.status == ArticleStatus.NEEDS_REVIEW)
    row = session.execute(select(regenerated.scalar_subquery(),
                                 needs_review.scalar_subquery())).one()
    return int(row[0] or 0), int(row[1] or 0)


def insert_batch(session: Session, batch: AIGenerationTask,
                 items: list[GenerationItem]) -> AIGenerationTask:
    """A new batch and its items, all pending (flushed). The caller fills in what the batch is
    (app.batches.service); its state and counts start here."""
    batch.status = BatchStatus.PENDING
    batch.celery_status = "PENDING"
    batch.total = len(items)
    batch.items = items
    session.add(batch)
    session.flush()
    return batch


AMENDABLE = ("max_cost_usd", "priority")


def amend_batch(batch: AIGenerationTask, changes: Mapping[str, Any]) -> None:
    """An editor's PATCH of a batch that has not ended (call with the row locked): its own
    spend cap and its priority, values already cleaned. Its state does not move: a paused
    batch stays paused until `resume_batch`."""
    if unknown := set(changes) - set(AMENDABLE):
        raise ValueError(f"not a batch's amendable field: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(batch, name, value)


def start_batch(session: Session, batch_id: str) -> AIGenerationTask | None:
    """pending → processing when its items are handed to the workers."""
    batch = lock_batch(session, batch_id)
    if batch is not None and batch.status == BatchStatus.PENDING:
        batch.status = BatchStatus.PROCESSING
        batch.started_at = batch.started_at or utcnow()
        batch.celery_status = "PROGRESS"
    return batch


def claim_item(session: Session, item_id: int, worker: str, lease: int) -> GenerationItem | None:
    """Take an item for one LLM attempt, or return None when it is not ours to run.

    Waiting items can be claimed, and so can a processing item whose lease ran out (its worker
    died). Items of a batch being cancelled, or paused by a budget, are not.
    """
    now = utcnow()
    dispatchable = (
        select(AIGenerationTask.id)
        .where(AIGenerationTask.id == GenerationItem.task_id, repository.dispatchable())
        .exists()
    )
    result = session.execute(
        update(GenerationItem)
        .where(
            GenerationItem.id == item_id,
            dispatchable,
            (GenerationItem.status.in_(ITEM_WAITING))
            | (
                (GenerationItem.status == ItemStatus.PROCESSING)
                & (GenerationItem.lease_expires_at < now)
            ),
        )
        .values(
            status=ItemStatus.PROCESSING,
            attempts=GenerationItem.attempts + 1,
            worker=worker,
            started_at=func.coalesce(GenerationItem.started_at, now),
            lease_expires_at=now + timedelta(seconds=lease),
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(GenerationItem, item_id, populate_existing=True)


def heartbeat(session: Session, item_id: int, worker: str, lease: int) -> bool:
    """Extend the lease; False when the item is no longer ours (reclaimed or cancelled)."""
    result = session.execute(
        update(GenerationItem)
        .where(
            GenerationItem.id == item_id,
            GenerationItem.status == ItemStatus.PROCESSING,
            GenerationItem.worker == worker,
        )
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


ERROR_MAX = 2000


def scrubbed(error: str) -> str:
    """An error as stored and served: secrets masked as the logs mask them (a provider that
    echoes the API key, a URL with its password), cut to ERROR_MAX characters."""
    return mask_secrets(error)[:ERROR_MAX]


def end_processing(session: Session, item: GenerationItem, **values: Any) -> bool:
    if isinstance(values.get("error"), str):
        values["error"] = scrubbed(values["error"])
    # Only the claim that is still current may end the attempt: a runner whose lease ran out
    # and whose item another worker reclaimed must not complete, fail or retry that claim.
    result = session.execute(
        update(GenerationItem)
        .where(
            GenerationItem.id == item.id,
            GenerationItem.status == ItemStatus.PROCESSING,
            GenerationItem.worker == item.worker,
        )
        .values(lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def complete_item(
    session: Session, item: GenerationItem, category: str, generated: Generated,
    cost_usd: float | None = None, lane: str = "realtime",
    quality: articles.Quality | None = None,
) -> Snapshot | None:
    """processing → completed with its article (a new version of it when regenerated); None
    when someone else already ended it.

    The article's cost (None: no known price) is added to the item and to the batch's tokens
    and cost in this same transaction, so the totals always match the articles (and the drafts
    a quality check rejected, added by `regenerate_item`)."""
    batch = lock_batch(session, item.task_id)
    if batch is None or not store_article(session, batch, item, category, generated, cost_usd, lane,
                                   quality):
        return None
    return refresh_batch(session, item.task_id, batch)


def store_article(session: Session, batch: AIGenerationTask, item: GenerationItem, category: str,
           generated: Generated, cost_usd: float | None, lane: str,
           quality: articles.Quality | None = None) -> bool:
    if not end_processing(session, item, status=ItemStatus.COMPLETED, error=None,
                           finished_at=utcnow(), feedback=None, cost_usd=cost_usd):
        return False
    articles.store_generation(
        session, item_id=item.id, task_id=item.task_id, title=item.title,
        category=category, generated=generated, quality=quality or articles.Quality(),
        cost_usd=cost_usd, lane=lane,
    )
    _add_spend(batch, generated, cost_usd)
    if cost_usd is None:
        batch.cost_unknown = (batch.cost_unknown or 0) + 1
    return True


def _add_spend(batch: AIGenerationTask, generated: Generated, cost_usd: float | None) -> None:
    """Add one call's tokens and known cost to its batch (call with the row locked)."""
    batch.prompt_tokens = (batch.prompt_tokens or 0) + generated.prompt_tokens
    batch.completion_tokens = (batch.completion_tokens or 0) + generated.completion_tokens
    if cost_usd is not None:
        batch.cost_usd = (batch.cost_usd or 0.0) + cost_usd


def regenerate_item(session: Session, item: GenerationItem, reason: str, feedback: str,
                    rejected: Generated | None = None,
                    cost_usd: float | None = None) -> Snapshot | None:
    """processing → retrying at once: the article failed a quality check and is written
    again with `feedback` in its prompt (counted in attempts and in `regenerations`).

    The `rejected` draft was paid for: its tokens and cost (None: no known price) are added to
    the batch's totals here, as an article's are, so the batch's cost is what its calls cost
    and matches the budget counters it was settled in (app.batches.generation.runner)."""
    batch = lock_batch(session, item.task_id)
    if batch is None or not regenerate(session, batch, item, reason, feedback, rejected,
                                       cost_usd):
        return None
    return refresh_batch(session, item.task_id, batch)


def regenerate(session: Session, batch: AIGenerationTask, item: GenerationItem, reason: str,
               feedback: str, rejected: Generated | None = None,
               cost_usd: float | None = None) -> bool:
    """`regenerate_item` without the recount, for a caller that ends many items under one
    lock of their batch (the Batch API lane); False when the claim was not current."""
    if not end_processing(
        session, item, status=ItemStatus.RETRYING, error=reason, next_attempt_at=utcnow(),
        feedback=feedback, regenerations=GenerationItem.regenerations + 1, enqueued_at=None,
    ):
        return False
    if rejected is not None:
        _add_spend(batch, rejected, cost_usd)
    return True


def run_in_realtime(batch: AIGenerationTask, note: str) -> None:
    """A batch in mode "batch" is written in real time from now on (call with the row locked):
    its mode says so, so the feeder sends its waiting items like any batch's (they are in its
    backlog: announce work after the commit), and `note` tells the editor why."""
    batch.extra = {**(batch.extra or {}), "note": note}
    batch.mode = BatchMode.REALTIME


def reopen_for_regeneration(session: Session, batch: AIGenerationTask, item: GenerationItem,
                            feedback: str | None) -> bool:
    """An ended item → pending, to write its article again (an editor asked, with optional
    `feedback`); its batch is processing again, also after a cancel (its cancelled items stay
    cancelled). Call with the batch row locked; the item waits in the backlog (kick the feeder).
    False when the item is still running."""
    result = session.execute(
        update(GenerationItem)
        .where(GenerationItem.id == item.id, GenerationItem.status.in_(ITEM_FINAL))
        .values(status=ItemStatus.PENDING, attempts=0, error=None, worker=None,
                finished_at=None, next_attempt_at=None, lease_expires_at=None,
                enqueued_at=None, feedback=feedback, regenerations=0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    batch.cancel_requested = False
    batch.status = BatchStatus.PROCESSING
    batch.finished_at = None
    batch.error = None
    batch.celery_status = "PROGRESS"
    batch.progress = 0  # recounted from the items that stay done, as a retry does
    refresh_batch(session, batch.id, batch)
    session.refresh(item)
    return True


def fail_item(session: Session, item: GenerationItem, error: str) -> Snapshot | None:
    """processing → failed with a readable reason."""
    batch = lock_batch(session, item.task_id)
    if not end_processing(
        session, item, status=ItemStatus.FAILED, error=error, finished_at=utcnow()
    ):
        return None
    return refresh_batch(session, item.task_id, batch)


def cancel_running_item(session: Session, item: GenerationItem) -> Snapshot | None:
    """processing → cancelled when the batch was cancelled mid-stream."""
    batch = lock_batch(session, item.task_id)
    if not end_processing(
        session, item, status=ItemStatus.CANCELLED, error="cancelled", finished_at=utcnow()
    ):
        return None
    return refresh_batch(session, item.task_id, batch)


def retry_item(session: Session, item: GenerationItem, error: str, at: datetime) -> bool:
    """processing → retrying: the attempt failed and another is due at `at`. The item goes back
    to its batch's backlog; the feeder sends it again once it is due."""
    return end_processing(
        session, item, status=ItemStatus.RETRYING, error=error, next_attempt_at=at,
        enqueued_at=None,
    )


def pause_item(session: Session, item: GenerationItem, refusal: Refusal) -> Snapshot | None:
    """processing → pending without counting the attempt: a budget refused the call before it
    started. Its batch pauses with the refusal's reason (an item of a batch cancelled meanwhile
    ends cancelled instead); None when the claim was not ours."""
    batch = lock_batch(session, item.task_id)
    if batch is None:
        return None
    if batch.cancel_requested:
        ended = end_processing(session, item, status=ItemStatus.CANCELLED, error="cancelled",
                                finished_at=utcnow())
    else:
        ended = end_processing(session, item, status=ItemStatus.PENDING, worker=None,
                                attempts=GenerationItem.attempts - 1, enqueued_at=None,
                                next_attempt_at=None)
    if not ended:
        return None
    pause_batch(session, batch, refusal)
    if batch.status == BatchStatus.PAUSED:
        to_backlog(session, batch.id)
    return refresh_batch(session, item.task_id, batch)


def to_backlog(session: Session, batch_id: str) -> None:
    """The batch's waiting items back in its backlog: their messages, if any are still on the
    broker, will find the batch paused and be dropped, and none counts as a busy slot."""
    session.execute(
        update(GenerationItem)
        .where(GenerationItem.task_id == batch_id, GenerationItem.status.in_(ITEM_WAITING),
               GenerationItem.enqueued_at.is_not(None))
        .values(enqueued_at=None)
        .execution_options(synchronize_session=False)
    )


def requeue_unsent(session: Session, item_ids: Sequence[int], sent_before: datetime) -> None:
    """Waiting items whose message may be lost (app.batches.scheduling.recovery) back in their
    batch's backlog, for the feeder to send again: only those it marked sent before
    `sent_before` (one sent since is on the broker). A retry keeps its `next_attempt_at`."""
    session.execute(
        update(GenerationItem)
        .where(GenerationItem.id.in_(item_ids), GenerationItem.enqueued_at < sent_before)
        .values(enqueued_at=None)
        .execution_options(synchronize_session=False)
    )


def pause_batch(session: Session, batch: AIGenerationTask, refusal: Refusal) -> None:
    """processing → paused (call with the row locked): no new call starts, running ones end."""
    if batch.status in BATCH_FINAL or batch.cancel_requested:
        return
    was_paused = batch.status == BatchStatus.PAUSED
    batch.status = BatchStatus.PAUSED
    batch.paused_reason = scrubbed(refusal.reason)
    batch.resume_at = refusal.resume_at
    batch.extra = {**(batch.extra or {}), costs.PAUSED_CALL: refusal.amount_usd}
    if not was_paused:
        events.reached(session, batch)


def resume_batch(session: Session, batch: AIGenerationTask) -> list[Any]:
    """paused → processing (call with the row locked): the cap was raised or its window rolled
    over. Its waiting items are in its backlog: kick the feeder after the commit. Returns their
    (id, provider_batch_id) rows (a batch-mode batch's items never sent to the provider go to
    its dispatch instead)."""
    if batch.status != BatchStatus.PAUSED:
        return []
    batch.status = BatchStatus.PROCESSING
    batch.paused_reason = batch.resume_at = None
    to_backlog(session, batch.id)
    rows = list(session.execute(
        select(GenerationItem.id, GenerationItem.provider_batch_id)
        .where(GenerationItem.task_id == batch.id, GenerationItem.status.in_(ITEM_WAITING))
        .order_by(GenerationItem.index)
    ).all())
    refresh_batch(session, batch.id, batch)
    return rows


def cancel_batch(session: Session, batch: AIGenerationTask) -> Snapshot:
    """Flag the batch and cancel its waiting items; running ones stop at their next checkpoint."""
    batch.cancel_requested = True
    if batch.status == BatchStatus.PAUSED:  # winding down now, not waiting for a budget
        batch.status, batch.paused_reason, batch.resume_at = BatchStatus.PROCESSING, None, None
    session.execute(
        update(GenerationItem)
        .where(GenerationItem.task_id == batch.id, GenerationItem.status.in_(ITEM_WAITING))
        .values(
            status=ItemStatus.CANCELLED,
            error="cancelled",
            finished_at=utcnow(),
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return refresh_batch(session, batch.id)


def fail_batch(session: Session, batch_id: str, error: str) -> Snapshot | None:
    """The batch could not be dispatched at all: fail its waiting items with the reason."""
    batch = lock_batch(session, batch_id)
    if batch is None:
        return None
    batch.error = scrubbed(error)
    session.execute(
        update(GenerationItem)
        .where(GenerationItem.task_id == batch_id, GenerationItem.status.in_(ITEM_WAITING))
        .values(status=ItemStatus.FAILED, error=batch.error, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    snapshot = refresh_batch(session, batch_id)
    if batch.total == 0 and batch.status not in BATCH_FINAL:
        batch.status = BatchStatus.FAILED
        batch.finished_at = utcnow()
        batch.celery_status = "FAILURE"
        events.reached(session, batch)
        snapshot = Snapshot.of(batch)
    return snapshot


def reopen_failed_items(session: Session, batch: AIGenerationTask) -> list[int]:
    """failed → pending for a batch that ended with failures: the editor asked to try again.

    The items start over (attempts 0, no error) and the batch is processing again. Its progress
    is recounted from the items, so it drops back: a retry is a new run, not a step backwards
    within one. Call with the batch row locked; the items wait in the backlog (kick the feeder).
    """
    ids = list(
        session.scalars(
            select(GenerationItem.id)
            .where(GenerationItem.task_id == batch.id, GenerationItem.status == ItemStatus.FAILED)
            .order_by(GenerationItem.index)
        )
    )
    if not ids:
        return ids
    session.execute(
        update(GenerationItem)
        .where(GenerationItem.id.in_(ids), GenerationItem.status == ItemStatus.FAILED)
        .values(
            status=ItemStatus.PENDING,
            attempts=0,
            error=None,
            worker=None,
            finished_at=None,
            next_attempt_at=None,
            lease_expires_at=None,
            enqueued_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    batch.status = BatchStatus.PROCESSING
    batch.finished_at = None
    batch.error = None
    batch.celery_status = "PROGRESS"
    batch.progress = 0  # recounted below from the items that stay done
    refresh_batch(session, batch.id)
    return ids


def delete_batches(session: Session, batch_ids: Sequence[str]) -> None:
    """Finished batches gone, with their items and articles (ON DELETE CASCADE): retention
    (app.batches.retention). A batch holding an approved or published article stays, checked
    by the DELETE itself: an approval since the caller chose the ids keeps it."""
    session.execute(delete(AIGenerationTask).where(
        AIGenerationTask.id.in_(batch_ids), AIGenerationTask.status.in_(BATCH_FINAL),
        ~repository.keeps_an_article()))
