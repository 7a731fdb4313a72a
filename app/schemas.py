"""Request and response models of the HTTP API (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_serializer, field_validator

from app.services.batches import InvalidInput, clean_category, clean_titles


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_serializer("*", when_used="json")
    def _times(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return as_utc(value).isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
        return value


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    titles: list[StrictStr] = Field(
        description="Article titles, one article each (1 to MAX_TITLES_PER_BATCH).",
        examples=[["How to choose a broker", "Index funds explained"]],
    )
    category: StrictStr = Field(description="A short slug such as `guide`.", examples=["guide"])

    @field_validator("titles")
    @classmethod
    def _titles(cls, value: list[str]) -> list[str]:
        try:
            return clean_titles(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        try:
            return clean_category(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None


class ItemOut(_Out):
    id: int
    index: int
    title: str
    status: str
    attempts: int
    article_id: int | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class BatchOut(_Out):
    task_id: str
    status: str
    category: str
    celery_task_id: str | None
    celery_status: str | None
    total: int
    completed: int
    failed: int
    cancelled: int
    progress: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_progress_update: datetime | None
    error: str | None
    schedule_id: str | None = None
    items: list[ItemOut] | None = None


class ProgressOut(BaseModel):
    task_id: str
    status: str
    current: int
    total: int
    progress: int
    completed: int
    failed: int
    cancelled: int
    eta_seconds: float | None = None


class BatchPage(BaseModel):
    items: list[BatchOut]
    total: int
    limit: int
    offset: int


class ArticleOut(_Out):
    id: int
    task_id: str
    item_id: int
    title: str
    category: str
    content: str
    provider: str
    model: str
    tokens: dict[str, int]
    created_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    total: int
    limit: int
    offset: int


def batch_out(
    batch: Any, *, with_items: bool = False, items: Sequence[dict[str, Any]] | None = None
) -> BatchOut:
    """`items`: dicts of ItemOut's fields (batches.item_rows, the fast path for pollers);
    `with_items` reads the batch's ORM items instead."""
    out_items = [ItemOut(**row) for row in items] if items is not None else None
    if with_items and items is None:
        out_items = [
            ItemOut(
                id=i.id,
                index=i.index,
                title=i.title,
                status=i.status,
                attempts=i.attempts,
                article_id=i.article.id if i.article is not None else None,
                error=i.error,
                started_at=i.started_at,
                finished_at=i.finished_at,
            )
            for i in batch.items
        ]
    return BatchOut(
        task_id=batch.id,
        status=batch.status,
        category=batch.category,
        celery_task_id=batch.celery_task_id,
        celery_status=batch.celery_status,
        total=batch.total,
        completed=batch.completed,
        failed=batch.failed,
        cancelled=batch.cancelled,
        progress=batch.progress,
        cancel_requested=batch.cancel_requested,
        created_at=batch.created_at,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        last_progress_update=batch.last_progress_update,
        error=batch.error,
        schedule_id=(batch.extra or {}).get("schedule_id"),
        items=out_items,
    )


def article_out(article: Any) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        task_id=article.task_id,
        item_id=article.item_id,
        title=article.title,
        category=article.category,
        content=article.content,
        provider=article.provider,
        model=article.model,
        created_at=article.created_at,
        tokens={
            "prompt": article.prompt_tokens,
            "completion": article.completion_tokens,
            "total": article.total_tokens,
        },
    )
