"""Submitting, reading and cancelling batches: the logic behind the task routes."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.config import get_settings
from app.models import AIGenerationTask, Article, BatchStatus, GenerationItem
from app.services import dispatch, events, state
from app.services.progress import announce

log = logging.getLogger(__name__)

BATCH_TASK = "app.tasks.ai_generation.generate_article_batch"
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class InvalidInput(ValueError):
    """Input refused before anything is stored; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(Exception):
    """The request contradicts the batch's state (cancel after the end, reused key)."""


def clean_titles(titles: list[str]) -> list[str]:
    settings = get_settings()
    if not titles:
        raise InvalidInput("titles", "at least one title is required")
    if len(titles) > settings.max_titles_per_batch:
        raise InvalidInput(
            "titles", f"at most {settings.max_titles_per_batch} titles per batch, got {len(titles)}"
        )
    cleaned = []
    for i, title in enumerate(titles):
        if not isinstance(title, str):
            raise InvalidInput(f"titles[{i}]", "must be a string")
        title = " ".join(title.split())
        if not title:
            raise InvalidInput(f"titles[{i}]", "must not be blank")
        if len(title) > settings.max_title_length:
            raise InvalidInput(
                f"titles[{i}]",
                f"at most {settings.max_title_length} characters, got {len(title)}",
            )
        if any(ord(c) < 32 for c in title):
            raise InvalidInput(f"titles[{i}]", "must not contain control characters")
        cleaned.append(title)
    return cleaned


def clean_category(category: str) -> str:
    value = (category or "").strip().lower()
    if not CATEGORY_RE.match(value):
        raise InvalidInput(
            "category",
            "must be a short slug: 1-64 characters of a-z, 0-9, '-' or '_', starting with a "
            "letter or digit",
        )
    return value


def _fingerprint(titles: list[str], category: str) -> str:
    return hashlib.sha256(json.dumps([titles, category]).encode()).hexdigest()


def create_batch(
    session: Session,
    titles: list[str],
    category: str,
    *,
    batch_id: str | None = None,
    idempotency_key: str | None = None,
    extra: dict | None = None,
) -> AIGenerationTask:
    """Insert a batch and one item per title (flushed, not committed)."""
    titles = clean_titles(titles)
    category = clean_category(category)
    batch = AIGenerationTask(
        category=category,
        total=len(titles),
        celery_task_id=str(uuid.uuid4()),
        celery_status="PENDING",
        idempotency_key=idempotency_key,
        extra={**(extra or {}), "fingerprint": _fingerprint(titles, category)},
    )
    if batch_id:
        batch.id = batch_id
    batch.items = [GenerationItem(index=i, title=t) for i, t in enumerate(titles)]
    session.add(batch)
    session.flush()
    return batch


def submit(
    session: Session,
    titles: list[str],
    category: str,
    idempotency_key: str | None = None,
    extra: dict | None = None,
) -> tuple[AIGenerationTask, bool]:
    """Store a new batch (committed) and return it with True, or the earlier one for this key.

    The caller enqueues `enqueue_batch(batch)` after this returns: the commit comes first so a
    worker can never look for a row that is not there yet.
    """
    if idempotency_key:
        existing = find_by_key(session, idempotency_key)
        if existing is not None:
            return _same_request(existing, titles, category), False
    try:
        batch = create_batch(
            session, titles, category, idempotency_key=idempotency_key, extra=extra
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = find_by_key(session, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _same_request(existing, titles, category), False
    return batch, True


def _same_request(batch: AIGenerationTask, titles: list[str], category: str) -> AIGenerationTask:
    fingerprint = _fingerprint(clean_titles(titles), clean_category(category))
    if (batch.extra or {}).get("fingerprint") != fingerprint:
        raise Conflict("this Idempotency-Key was already used for a different batch")
    return batch


def find_by_key(session: Session, key: str) -> AIGenerationTask | None:
    return session.scalars(
        select(AIGenerationTask).where(AIGenerationTask.idempotency_key == key)
    ).one_or_none()


def enqueue_batch(batch: AIGenerationTask) -> None:
    from app.celery_app import app

    app.send_task(BATCH_TASK, args=[batch.id], task_id=batch.celery_task_id)


def discard(session: Session, batch_id: str) -> None:
    """Remove a batch that could not be enqueued, so nothing half-done is left behind."""
    batch = session.get(AIGenerationTask, batch_id)
    if batch is not None:
        session.delete(batch)
        session.commit()


def get(session: Session, batch_id: str, *, with_items: bool = False) -> AIGenerationTask | None:
    query = select(AIGenerationTask).where(AIGenerationTask.id == batch_id)
    if with_items:
        query = query.options(
            # Only the article's id: loading every article's content made /status slow.
            selectinload(AIGenerationTask.items)
            .selectinload(GenerationItem.article)
            .load_only(Article.id, Article.item_id)
        )
    return session.scalars(query).one_or_none()


def item_rows(session: Session, batch_id: str) -> list[dict[str, Any]]:
    """A batch's items as plain dicts with their article's id, in order: what /status shows,
    without building ORM objects (a third of the cost for a 200-item batch)."""
    result = session.execute(
        select(
            GenerationItem.id,
            GenerationItem.index,
            GenerationItem.title,
            GenerationItem.status,
            GenerationItem.attempts,
            GenerationItem.error,
            GenerationItem.started_at,
            GenerationItem.finished_at,
            Article.id.label("article_id"),
        )
        .outerjoin(Article, Article.item_id == GenerationItem.id)
        .where(GenerationItem.task_id == batch_id)
        .order_by(GenerationItem.index)
    )
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def list_batches(
    session: Session, *, limit: int, offset: int, status: str | None = None
) -> tuple[list[AIGenerationTask], int]:
    query = select(AIGenerationTask)
    count = select(func.count()).select_from(AIGenerationTask)
    if status:
        query = query.where(AIGenerationTask.status == status)
        count = count.where(AIGenerationTask.status == status)
    rows = session.scalars(
        query.order_by(AIGenerationTask.created_at.desc(), AIGenerationTask.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(session.scalar(count) or 0)


def cancel(session: Session, batch_id: str) -> AIGenerationTask | None:
    """Stop spending on a batch. Returns None for an unknown id; Conflict once it has ended."""
    batch = state.lock_batch(session, batch_id)
    if batch is None:
        return None
    if batch.status in BatchStatus.FINAL:
        raise Conflict(f"batch {batch_id} already ended with status {batch.status}")
    snapshot = state.cancel_batch(session, batch)
    announce(snapshot)
    session.commit()
    # After the commit, so a worker that sees the flag also sees the cancelled items.
    events.flag_cancel(batch_id)
    log.info("batch %s: cancel requested (%s)", batch_id, snapshot.status)
    return batch


def retry_failed(session: Session, batch_id: str) -> tuple[AIGenerationTask, list[int]] | None:
    """Put a finished batch's failed items back in the queue. None for an unknown id;
    Conflict while it runs, when it was cancelled, or when nothing failed."""
    batch = state.lock_batch(session, batch_id)
    if batch is None:
        return None
    if batch.status not in BatchStatus.FINAL:
        raise Conflict(f"batch {batch_id} is still {batch.status}; wait for it to end")
    if batch.cancel_requested:
        raise Conflict(f"batch {batch_id} was cancelled; submit its titles again instead")
    ids = state.reopen_failed_items(session, batch)
    if not ids:
        raise Conflict(f"batch {batch_id} has no failed items")
    announce(state.Snapshot.of(batch))
    session.commit()
    try:
        dispatch.enqueue_items(ids)  # after the commit, so a worker finds the items pending
    except Exception as exc:  # they are stored as pending: the reaper enqueues them later
        log.error("batch %s: could not enqueue the retried items yet: %s", batch_id, exc)
    log.info("batch %s: %d failed item(s) queued again", batch_id, len(ids))
    return batch, ids
