"""The batches domain's reads (its writes are the transitions in app.batches.state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session, selectinload

from app.articles.models import Article
from app.batches.enums import BATCH_FINAL, BatchMode, BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem

# The `worker` of an item sent to the Batch API lane: this prefix + the provider batch id.
LANE_WORKER = "batch-api:"


def dispatchable() -> ColumnElement[bool]:
    """Batches whose waiting items may go to workers (and be claimed): not ended, not
    cancelled, not paused by a budget. The SQL twin of app.batches.state.is_dispatchable;
    a dispatcher feeding items must filter its batches with it."""
    return and_(
        AIGenerationTask.cancel_requested.is_(False),
        AIGenerationTask.status.not_in(constants([*BATCH_FINAL, BatchStatus.PAUSED])),
    )


def constants(values: Iterable[str]) -> list[ColumnElement[str]]:
    """Fixed strings (statuses) written into the SQL once, when it is compiled: an IN list of
    bound values is expanded again at every execution (the feeder's hot path)."""
    return [literal_column("'" + value.replace("'", "''") + "'") for value in sorted(values)]


def paused_due(session: Session, now: datetime) -> list[str]:
    """Paused batches whose budget window has rolled over (resume_at passed)."""
    return list(session.scalars(
        select(AIGenerationTask.id).where(AIGenerationTask.status == BatchStatus.PAUSED,
                                          AIGenerationTask.resume_at <= now)
        .order_by(AIGenerationTask.resume_at)
    ))


def open_provider_batches(session: Session, batch_id: str | None = None
                          ) -> list[tuple[str, str]]:
    """(batch id, provider batch id) of every provider batch still holding items."""
    query = (select(GenerationItem.task_id, GenerationItem.provider_batch_id).distinct()
             .where(GenerationItem.status == ItemStatus.PROCESSING,
                    GenerationItem.provider_batch_id.is_not(None),
                    GenerationItem.worker.startswith(LANE_WORKER)))
    if batch_id is not None:
        query = query.where(GenerationItem.task_id == batch_id)
    return [(str(t), str(p)) for t, p in session.execute(query).all()]


def lane_items(session: Session, provider_batch_id: str) -> list[GenerationItem]:
    """The items a provider batch still holds."""
    return list(session.scalars(
        select(GenerationItem).where(
            GenerationItem.provider_batch_id == provider_batch_id,
            GenerationItem.status == ItemStatus.PROCESSING,
            GenerationItem.worker == LANE_WORKER + provider_batch_id,
        ).order_by(GenerationItem.index)
    ))


def unsent_lane_items(session: Session, batch_id: str) -> list[GenerationItem]:
    """A batch-mode batch's items never sent to the provider (pending, no provider batch)."""
    return list(session.scalars(
        select(GenerationItem).join(AIGenerationTask).where(
            GenerationItem.task_id == batch_id, AIGenerationTask.mode == BatchMode.BATCH,
            GenerationItem.status == ItemStatus.PENDING,
            GenerationItem.provider_batch_id.is_(None),
        ).order_by(GenerationItem.index)
    ))


def get(session: Session, batch_id: str, *, with_items: bool = False) -> AIGenerationTask | None:
    query = select(AIGenerationTask).where(AIGenerationTask.id == batch_id)
    if with_items:
        query = query.options(
            # Only the article's id: loading every article's content made /status slow.
            selectinload(AIGenerationTask.items)
            .selectinload(GenerationItem.article)
            .load_only(Article.id, Article.item_id)
        ).execution_options(populate_existing=True)  # items moved by bulk UPDATEs
    return session.scalars(query).one_or_none()


def find_by_key(session: Session, key: str) -> AIGenerationTask | None:
    return session.scalars(
        select(AIGenerationTask).where(AIGenerationTask.idempotency_key == key)
    ).one_or_none()


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
            GenerationItem.language,
            GenerationItem.regenerations,
            GenerationItem.started_at,
            GenerationItem.finished_at,
            GenerationItem.cost_usd,
            GenerationItem.provider_batch_id,
            Article.id.label("article_id"),
        )
        .outerjoin(Article, Article.item_id == GenerationItem.id)
        .where(GenerationItem.task_id == batch_id)
        .order_by(GenerationItem.index)
    )
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def list_batches(
    session: Session, *, limit: int, offset: int, status: str | None = None,
    priority: str | None = None, owner: str | None = None,
) -> tuple[list[AIGenerationTask], int]:
    """A page of batches, newest first, with every filter given (None: any); `owner` is
    matched exactly, as stored (app.batches.validation.clean_owner)."""
    conditions = []
    if status:
        conditions.append(AIGenerationTask.status == status)
    if priority:
        conditions.append(AIGenerationTask.priority == priority)
    if owner is not None:
        conditions.append(AIGenerationTask.owner == owner)
    query = select(AIGenerationTask).where(*conditions)
    count = select(func.count()).select_from(AIGenerationTask).where(*conditions)
    rows = session.scalars(
        query.order_by(AIGenerationTask.created_at.desc(), AIGenerationTask.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(session.scalar(count) or 0)


def counts_by_status(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """(batches by status, items by status): what /metrics reports."""
    batches = dict(session.execute(  # type: ignore[arg-type]
        select(AIGenerationTask.status, func.count()).group_by(AIGenerationTask.status)
    ).all())
    items = dict(session.execute(  # type: ignore[arg-type]
        select(GenerationItem.status, func.count()).group_by(GenerationItem.status)
    ).all())
    return batches, items
