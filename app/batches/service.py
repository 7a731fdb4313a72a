"""Submitting, cancelling and retrying batches: the logic behind the task routes.

Nothing here commits: the caller's unit of work does, and the messages recorded here on the
session (app.core.outbox) go out after that commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.batches import cancel_flags, limits, repository, state, work
from app.batches.enums import BATCH_FINAL, BatchMode, BatchStatus, Priority
from app.batches.errors import (
    BatchCancelled,
    BatchEnded,
    BatchError,
    BatchNotFound,
    BatchNotPaused,
    BatchRunning,
    BatchStillOverCap,
    IdempotencyConflict,
    NothingToRetry,
)
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot, announce
from app.batches.spend import costs
from app.batches.validation import (
    FINGERPRINT_VERSION,
    clean_category,
    clean_idempotency_key,
    clean_language,
    clean_max_cost,
    clean_mode,
    clean_owner,
    clean_priority,
    clean_titles,
    fingerprint,
    item_language,
    legacy_fingerprint,
)
from app.core import names, outbox
from app.llm import get_provider
from app.profiles import service as profiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """A submission, every field cleaned once (app.batches.validation)."""

    titles: list[str]
    category: str
    language: str  # the batch's: a tag or "auto"
    asked_language: str | None  # as asked for: None when not given (ARTICLE_LANGUAGE applied)
    mode: BatchMode
    max_cost_usd: float | None
    priority: Priority
    owner: str | None

    @classmethod
    def clean(cls, titles: object, category: object, *, language: object = None,
              mode: object = None, max_cost_usd: object = None, priority: object = None,
              owner: object = None) -> Submission:
        cleaned_titles, cleaned_category = clean_titles(titles), clean_category(category)
        resolved = clean_language(language)
        given = isinstance(language, str) and bool(language.strip())
        return cls(titles=cleaned_titles, category=cleaned_category, language=resolved,
                   asked_language=resolved if given else None, mode=clean_mode(mode),
                   max_cost_usd=clean_max_cost(max_cost_usd), priority=clean_priority(priority),
                   owner=clean_owner(owner))

    def fingerprint(self) -> str:
        return fingerprint(self.titles, self.category, language=self.asked_language,
                           mode=self.mode, max_cost_usd=self.max_cost_usd,
                           priority=self.priority, owner=self.owner)

    def matches(self, batch: AIGenerationTask) -> bool:
        """Is `batch` what this request would have made (the Idempotency-Key's promise)?"""
        stored = (batch.extra or {}).get("fingerprint")
        if isinstance(stored, str) and stored.startswith(FINGERPRINT_VERSION):
            return stored == self.fingerprint()
        return stored == legacy_fingerprint(self.titles, self.category)  # stored before v2


def create_batch(
    session: Session,
    titles: list[str],
    category: str,
    *,
    batch_id: str | None = None,
    idempotency_key: str | None = None,
    extra: dict | None = None,
    mode: object = None,
    max_cost_usd: object = None,
    language: str | None = None,
    priority: object = None,
    owner: object = None,
) -> AIGenerationTask:
    """Insert a batch and one item per title (flushed). Validates its input; `language`
    (None: ARTICLE_LANGUAGE) "auto" is resolved per title here, once. `priority` (None:
    normal) and `owner` (None or blank: none) are what the fair scheduler weighs."""
    submission = Submission.clean(titles, category, language=language, mode=mode,
                                  max_cost_usd=max_cost_usd, priority=priority, owner=owner)
    return _insert(session, submission, batch_id=batch_id, idempotency_key=idempotency_key,
                   extra=extra)


def _insert(session: Session, submission: Submission, *, batch_id: str | None,
            idempotency_key: str | None, extra: dict | None) -> AIGenerationTask:
    language = submission.language
    batch = AIGenerationTask(
        category=submission.category,
        mode=submission.mode,
        max_cost_usd=submission.max_cost_usd,
        language=language,
        priority=submission.priority,
        owner=submission.owner,
        celery_task_id=str(uuid.uuid4()),
        idempotency_key=idempotency_key,
        extra={**(extra or {}), "fingerprint": submission.fingerprint()},
    )
    if batch_id:
        batch.id = batch_id
    items = [GenerationItem(index=i, title=t, language=item_language(language, t))
             for i, t in enumerate(submission.titles)]
    return state.insert_batch(session, batch, items)


def submit(
    session: Session,
    titles: list[str],
    category: str,
    idempotency_key: str | None = None,
    extra: dict | None = None,
    mode: object = None,
    max_cost_usd: object = None,
    language: str | None = None,
    priority: object = None,
    owner: object = None,
) -> tuple[AIGenerationTask, bool]:
    """Store a new batch and queue its dispatch after the commit: (batch, True). For a key
    seen before, the earlier batch: (batch, False); IdempotencyConflict if it was another request
    (any field differs once cleaned: titles, category, language, mode, max_cost_usd,
    priority, owner).
    """
    idempotency_key = clean_idempotency_key(idempotency_key)
    submission = Submission.clean(titles, category, language=language, mode=mode,
                                  max_cost_usd=max_cost_usd, priority=priority, owner=owner)
    _refuse_unpriced(session, submission)
    if idempotency_key:
        existing = repository.find_by_key(session, idempotency_key)
        if existing is not None:
            return _same_request(existing, submission), False
    limits.check(session, submission.owner, len(submission.titles))
    try:
        with session.begin_nested():  # a concurrent insert of the same key fails only this
            batch = _insert(session, submission, batch_id=None,
                            idempotency_key=idempotency_key, extra=extra)
    except IntegrityError:
        existing = repository.find_by_key(session, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _same_request(existing, submission), False
    outbox.enqueue(session, names.BATCH_TASK, [batch.id], task_id=batch.celery_task_id)
    # Its first items go out at once (the feeder starts a pending batch it picks from), not
    # after the batch message made its way through the queue.
    work.arrived(session)
    log.info("batch %s submitted: %d title(s), category %s, priority %s, owner %r", batch.id,
             batch.total, batch.category, batch.priority, batch.owner)
    return batch, True


def _refuse_unpriced(session: Session, submission: Submission) -> None:
    """422 when a cap would apply and the category's model has no known price (the worker
    would only pause the batch at its first call)."""
    provider = get_provider()
    profile_model = profiles.effective(session, submission.category).spec.model
    model = profile_model or str(getattr(provider, "model", provider.name))
    reason = costs.unpriced_reason(provider.name, model, submission.max_cost_usd)
    if reason is not None:
        source = (f"the {submission.category!r} category profile's model" if profile_model
                  else "OPENAI_MODEL")
        raise BatchError("model", f"{reason} ({source})")


def _same_request(batch: AIGenerationTask, submission: Submission) -> AIGenerationTask:
    if not submission.matches(batch):
        raise IdempotencyConflict(batch)
    return batch


def list_batches(session: Session, *, limit: int, offset: int, status: object = None,
                 priority: object = None, owner: object = None
                 ) -> tuple[list[AIGenerationTask], int]:
    """Batches, newest first, filtered by what is given: `status`, `priority`, `owner` (the
    owner as stored: trimmed and folded; blank means any)."""
    return repository.list_batches(
        session, limit=limit, offset=offset, status=str(status) if status else None,
        priority=clean_priority(priority) if priority not in (None, "") else None,
        owner=clean_owner(owner))


def get_or_404(session: Session, batch_id: str) -> AIGenerationTask:
    batch = repository.get(session, batch_id)
    if batch is None:
        raise BatchNotFound(batch_id)
    return batch


def _locked_or_404(session: Session, batch_id: str) -> AIGenerationTask:
    batch = state.lock_batch(session, batch_id)
    if batch is None:
        raise BatchNotFound(batch_id)
    return batch


def cancel(session: Session, batch_id: str) -> AIGenerationTask:
    """Stop spending on a batch: waiting items are cancelled now, running ones at their next
    checkpoint (the flag is raised after the commit). 409 once the batch has ended."""
    batch = _locked_or_404(session, batch_id)
    if batch.status in BATCH_FINAL:
        raise BatchEnded(batch)
    snapshot = state.cancel_batch(session, batch)
    announce(session, snapshot)
    cancel_flags.flag_cancel(session, batch_id)
    if batch.mode == BatchMode.BATCH:  # its provider batches are cancelled at once
        outbox.enqueue(session, names.POLL_PROVIDER_BATCHES_TASK, [batch_id])
    log.info("batch %s: cancel requested (%s)", batch_id, snapshot.status)
    return batch


def retry_failed(session: Session, batch_id: str) -> AIGenerationTask:
    """Put a finished batch's failed items back in the queue. 409 while it runs, when it was
    cancelled, or when nothing failed."""
    batch = _locked_or_404(session, batch_id)
    if batch.status not in BATCH_FINAL:
        raise BatchRunning(batch)
    if batch.cancel_requested:
        raise BatchCancelled(batch)
    ids = state.reopen_failed_items(session, batch)
    if not ids:
        raise NothingToRetry(batch)
    announce(session, Snapshot.of(batch))
    work.arrived(session)  # they wait in the batch's backlog, fed as slots free up
    log.info("batch %s: %d failed item(s) queued again", batch_id, len(ids))
    return batch


def update(session: Session, batch_id: str, changes: dict[str, Any]) -> AIGenerationTask:
    """PATCH: the batch's own spend cap (`max_cost_usd`, null for none) and its `priority`.
    409 once the batch has ended. Raising the cap does not resume a paused batch: resume does.
    """
    # The values first, as the schema's are: a bad one is a 422 naming it whatever the state.
    cleaned: dict[str, Any] = {}
    if "max_cost_usd" in changes:
        cleaned["max_cost_usd"] = clean_max_cost(changes["max_cost_usd"])
    if "priority" in changes:
        cleaned["priority"] = clean_priority(changes["priority"])
    batch = _locked_or_404(session, batch_id)
    if batch.status in BATCH_FINAL:
        raise BatchEnded(batch)
    state.amend_batch(batch, cleaned)
    announce(session, Snapshot.of(batch))
    log.info("batch %s updated: %s", batch_id, changes)
    return batch


def resume(session: Session, batch_id: str, *, automatic: bool = False) -> AIGenerationTask:
    """paused → processing, its waiting items back in the queue. 409 when it is not paused,
    or (asked by an editor) when the next article would not fit the cap it is paused on.
    `automatic`: the budget window rolled over (app.batches.resume.resume_due)."""
    batch = _locked_or_404(session, batch_id)
    if batch.status != BatchStatus.PAUSED:
        raise BatchNotPaused(batch)
    if not automatic and (why := costs.blocking_reason(batch)):
        raise BatchStillOverCap(batch, why)
    rows = state.resume_batch(session, batch)
    work.arrived(session)  # its waiting items are in its backlog again
    if batch.mode == BatchMode.BATCH and any(r.provider_batch_id is None for r in rows):
        outbox.enqueue(session, names.BATCH_TASK, [batch.id])  # never sent to the provider
    announce(session, Snapshot.of(batch))
    log.info("batch %s resumed (%s): %d waiting item(s)", batch_id,
             "window rolled over" if automatic else "by request", len(rows))
    return batch
