"""Request and response models of the batch API (the limits they state are the domain's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.config import get_settings
from app.core.schemas import OutModel

_settings = get_settings()

# The limits below are documented in the OpenAPI schema and enforced once, by the domain
# (app.batches.validation), whose errors name the exact field ("titles[3]: ...").
Title = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": _settings.max_title_length})]


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    titles: list[Title] = Field(
        description="Article titles, one article each (1 to MAX_TITLES_PER_BATCH). Whitespace "
        "runs are folded to one space; control characters are refused.",
        examples=[["How to choose a broker", "Index funds explained"]],
        json_schema_extra={"minItems": 1, "maxItems": _settings.max_titles_per_batch},
    )
    category: StrictStr = Field(
        description="A short slug such as `guide`: 1-64 characters of a-z, 0-9, '-' or '_' "
        "(case is folded, surrounding spaces dropped).", examples=["guide"],
        json_schema_extra={"minLength": 1, "maxLength": 200},
    )
    language: StrictStr | None = Field(
        None, description="BCP 47 tag the articles are written in (`en`, `zh-CN`, `ja` ...), "
        "or `auto`: each title's own language. Default: the ARTICLE_LANGUAGE setting.",
        examples=["zh-CN"], json_schema_extra={"maxLength": 35},
    )


class ItemOut(OutModel):
    id: int
    index: int
    title: str
    status: str
    attempts: int
    article_id: int | None = None
    error: str | None = None
    language: str | None = None
    regenerations: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


class BatchOut(OutModel):
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
    language: str = "auto"
    regenerated: int = 0
    needs_review: int = 0
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
    regenerated: int = 0
    needs_review: int = 0
    eta_seconds: float | None = None


class BatchPage(BaseModel):
    items: list[BatchOut]
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
                language=i.language,
                regenerations=i.regenerations or 0,
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
        language=batch.language or "auto",
        regenerated=batch.regenerated or 0,
        needs_review=batch.needs_review or 0,
        cancel_requested=batch.cancel_requested,
        created_at=batch.created_at,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        last_progress_update=batch.last_progress_update,
        error=batch.error,
        schedule_id=(batch.extra or {}).get("schedule_id"),
        items=out_items,
    )


class RegenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: StrictStr | None = Field(
        None, description="What the new version should do differently; added to the prompt.",
        examples=["Shorter, and add a table of fees"], json_schema_extra={"maxLength": 2000})


class RegenerateOut(BaseModel):
    article_id: int
    task_id: str = Field(description="Its batch, processing again while the article is written")
    item_id: int
    item_status: str = Field(description="The item's status now: pending")
    version: int = Field(description="The article's current version; the new one will follow")
    feedback: str | None
