"""The batches domain's reads (its writes are the transitions in app.batches.state)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session

from app.articles.enums import ArticleStatus
from app.articles.models import Article
from app.batches.enums import BATCH_FINAL, BatchMode, BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem, SubmitLimit

# The `worker` of an item sent to the Batch API lane: this prefix + the provider batch id.
LANE_WORKER = "batch-api:"
# What a reader sees of an item (/status, the live stream's snapshot), besides its article's id:
# the one list of these fields (app.batches.api.schemas.ItemOut declares their types).
ITEM_FIELDS = ("id", "index", "title", "status", "attempts", "error", "language",
               "regenerations", "started_at", "finished_at", "cost_usd", "provider_batch_id")
# Articles an editor kept: retention never deletes them, nor their batch (nor a live one's,
# whatever its status: an edit of a published article is a draft while its version is live).
KEPT = (ArticleStatus.APPROVED, ArticleStatus.SCHEDULED, ArticleStatus.PUBLISHED)


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


def keeps_an_article() -> ColumnElement[bool]:
    """The batch holds an article an editor kept (approved, scheduled or published) or one
    that is live."""
    return exists().where(Article.task_id == AIGenerationTask.id,
                          or_(Article.status.in_(KEPT), Article.published_version.is_not(None)))


def _finished_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [AIGenerationTask.status.in_(BATCH_FINAL), AIGenerationTask.finished_at < cutoff]


def old_batch_ids(session: Session, cutoff: datetime, limit: int) -> list[str]:
    """Up to `limit` batches that finished before `cutoff` and hold no kept article."""
    return list(session.scalars(
        select(AIGenerationTask.id).where(*_finished_before(cutoff), ~keeps_an_article())
        .limit(limit)))


def count_kept_old(session: Session, cutoff: datetime) -> int:
    """Batches that finished before `cutoff` and stay for the articles they hold."""
    return int(session.scalar(select(func.count()).select_from(AIGenerationTask)
                              .where(*_finished_before(cutoff), keeps_an_article())) or 0)


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


def get(session: Session, batch_id: str) -> AIGenerationTask | None:
    """The batch alone; its items as readers see them are `item_rows`."""
    return session.scalars(
        select(AIGenerationTask).where(AIGenerationTask.id == batch_id)).one_or_none()


def find_by_key(session: Session, key: str) -> AIGenerationTask | None:
    return session.scalars(
        select(AIGenerationTask).where(AIGenerationTask.idempotency_key == key)
    ).one_or_none()


def item_rows(session: Session, batch_id: str) -> list[dict[str, Any]]:
    """A batch's items as plain dicts of ITEM_FIELDS and their article's id, in order: what
    /status and the live stream show, without building ORM objects (a third of the cost for a
    200-item batch) and as the database has them now (bulk UPDATEs bypass loaded items)."""
    result = session.execute(
        select(*(getattr(GenerationItem, name) for name in ITEM_FIELDS),
               Article.id.label("article_id"))
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


def spent_since(session: Session, since: datetime) -> float:
    """USD of the items that finished at or after `since` (their priced cost)."""
    total = session.scalar(
        select(func.sum(GenerationItem.cost_usd))
        .where(GenerationItem.finished_at >= since, GenerationItem.cost_usd.is_not(None)))
    return float(total or 0.0)


def submitted_since(session: Session, owner: str | None, since: datetime
                    ) -> list[tuple[datetime, int]]:
    """(created_at, titles) of the batches `owner` (None: those without one) submitted since,
    oldest first: what the hourly submit limits count (ix on owner and on created_at)."""
    match = AIGenerationTask.owner.is_(None) if owner is None else AIGenerationTask.owner == owner
    rows = session.execute(
        select(AIGenerationTask.created_at, AIGenerationTask.total)
        .where(match, AIGenerationTask.created_at >= since)
        .order_by(AIGenerationTask.created_at))
    return [(at, int(total)) for at, total in rows]


def submit_limit(session: Session, user_name: str) -> SubmitLimit | None:
    return session.get(SubmitLimit, user_name)


def save_submit_limit(session: Session, user_name: str, *, max_batches: int | None,
                      max_titles: int | None) -> SubmitLimit:
    row = session.get(SubmitLimit, user_name, with_for_update=True)
    if row is None:
        row = SubmitLimit(user_name=user_name)
        session.add(row)
    row.max_batches_per_hour, row.max_titles_per_hour = max_batches, max_titles
    session.flush()
    return row
