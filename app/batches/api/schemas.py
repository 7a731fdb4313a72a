"""Request and response models of the batch API (the limits they state are the domain's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictStr

from app.batches.enums import BatchMode, Priority
from app.batches.spend import costs
from app.batches.validation import (
    CATEGORY_MAX_LENGTH,
    CATEGORY_PATTERN,
    LINE_PATTERN,
    MAX_COST_USD,
    OWNER_MAX_LENGTH,
    OWNER_PATTERN,
)
from app.config import get_settings
from app.core.schemas import LANGUAGE_PATTERN, TEXT_PATTERN, OutModel, Scrubbed

_settings = get_settings()

# The limits below are documented in the OpenAPI schema and enforced once, by the domain
# (app.batches.validation), whose errors name the exact field ("titles[3]: ...").
# A USD amount the domain accepts (app.batches.validation.clean_max_cost): above 0, bounded;
# a number, never a bool or a numeric string (a lax float took `true` for $1).
Usd = Annotated[StrictFloat, Field(
    json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_COST_USD})]
Title = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": _settings.max_title_length, "pattern": LINE_PATTERN})]
Category = Annotated[StrictStr, Field(
    description="A short slug such as `guide`: 1-64 characters of a-z, 0-9, '-' or '_' "
    "starting with a letter or digit; case is folded, surrounding spaces dropped.",
    examples=["guide"],
    json_schema_extra={"minLength": 1, "maxLength": CATEGORY_MAX_LENGTH,
                       "pattern": CATEGORY_PATTERN})]
PriorityName = Annotated[StrictStr, Field(
    description="How the fair scheduler weighs the batch against others waiting: `high`, "
    "`normal` (the default) or `low` (runs when nothing else waits, never starved).",
    examples=["high"], json_schema_extra={"enum": list(Priority), "maxLength": 8})]
Owner = Annotated[StrictStr, Field(
    description="Who the batch is for: an editor's name or a team (`alice`, `编辑部`). Workers "
    "are shared fairly between owners first. One line of up to 100 characters without control "
    "characters; surrounding spaces are trimmed and runs of spaces folded; blank or null: no "
    "owner.", examples=["alice"],
    json_schema_extra={"maxLength": OWNER_MAX_LENGTH, "pattern": OWNER_PATTERN})]
TITLES_DESCRIPTION = (
    "Article titles, one article each (1 to MAX_TITLES_PER_BATCH). A title is one line of "
    "1 to MAX_TITLE_LENGTH characters, not only spaces, with no control characters; runs of "
    "spaces are folded to one.")


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    titles: list[Title] = Field(
        description=TITLES_DESCRIPTION,
        examples=[["How to choose a broker", "Index funds explained"]],
        json_schema_extra={"minItems": 1, "maxItems": _settings.max_titles_per_batch},
    )
    category: Category
    language: Annotated[StrictStr, Field(json_schema_extra={
        "maxLength": 35, "pattern": LANGUAGE_PATTERN})] | None = Field(
        None, description="BCP 47 tag the articles are written in (`en`, `zh-CN`, `ja` ...), "
        "or `auto`: each title's own language. Default: the ARTICLE_LANGUAGE setting.",
        examples=["zh-CN"],
    )
    mode: StrictStr = Field(
        BatchMode.REALTIME, description="`realtime` (streamed as slots free up) or `batch` "
        "(the provider's Batch API: about half the price, within 24 hours).",
        json_schema_extra={"enum": list(BatchMode)})
    max_cost_usd: Usd | None = Field(
        None, description="This batch's own spend cap in USD: it pauses when the next call's "
        "worst-case cost would pass it (null: no cap).", examples=[5.0])
    priority: PriorityName = Priority.NORMAL
    owner: Owner | None = None


class BatchPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_cost_usd: Usd | None = Field(
        None, description="The new spend cap in USD (null removes it). A paused batch stays "
        "paused until POST /resume.")
    priority: PriorityName | None = Field(
        None, description="`high`, `normal` or `low` (null: back to normal).")


class ProviderBatchOut(BaseModel):
    """One provider batch of the Batch API lane, as last polled."""

    id: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0


class ItemOut(OutModel):
    """One item: app.batches.repository.ITEM_FIELDS and its article's id."""

    id: int
    index: int
    title: str
    status: str
    attempts: int
    article_id: int | None = None
    error: Scrubbed | None = None
    language: str | None = None
    regenerations: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cost_usd: float | None = None
    provider_batch_id: str | None = None


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
    error: Scrubbed | None
    schedule_id: str | None = None
    # Tokens and cost so far, and the cost left at the batch's own average
    # (app.batches.spend.costs):
    # cost_usd is null, and cost_note says why, while an article has no known price.
    cost_usd: float | None = None
    cost_remaining_usd: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_unknown: int = 0
    cost_note: str | None = None
    # Why a budget paused it, and when its window rolls over (null: only raising the cap helps).
    paused_reason: Scrubbed | None = None
    resume_at: datetime | None = None
    mode: str = BatchMode.REALTIME
    priority: str = Priority.NORMAL
    owner: str | None = None
    max_cost_usd: float | None = None
    note: str | None = None  # e.g. batch mode run in real time by the offline writer
    provider_batches: list[ProviderBatchOut] = []
    items: list[ItemOut] | None = None


class ProgressOut(OutModel):
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
    cost_usd: float | None = None
    cost_remaining_usd: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_unknown: int = 0
    cost_note: str | None = None
    paused_reason: Scrubbed | None = None
    resume_at: datetime | None = None


class BatchPage(BaseModel):
    items: list[BatchOut]
    total: int
    limit: int
    offset: int


def batch_out(batch: Any, *, items: Sequence[dict[str, Any]] | None = None) -> BatchOut:
    """The batch as the API shows it; with `items` (app.batches.repository.item_rows) its
    items too."""
    out_items = [ItemOut(**row) for row in items] if items is not None else None
    extra = batch.extra or {}
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
        schedule_id=extra.get("schedule_id"),
        mode=batch.mode or BatchMode.REALTIME,
        priority=batch.priority or Priority.NORMAL,
        owner=batch.owner,
        max_cost_usd=batch.max_cost_usd,
        note=extra.get("note"),
        provider_batches=[ProviderBatchOut(**{k: e[k] for k in ProviderBatchOut.model_fields
                                              if k in e})
                          for e in extra.get("provider_batches", [])],
        **costs.summary(batch).as_dict(),
        paused_reason=batch.paused_reason,
        resume_at=batch.resume_at,
        items=out_items,
    )


class RegenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: Annotated[StrictStr, Field(json_schema_extra={
        "maxLength": 2000, "pattern": TEXT_PATTERN})] | None = Field(
        None, description="What the new version should do differently; added to the prompt.",
        examples=["Shorter, and add a table of fees"])


class RegenerateOut(BaseModel):
    article_id: int
    task_id: str = Field(description="Its batch, processing again while the article is written")
    item_id: int
    item_status: str = Field(description="The item's status now: pending")
    version: int = Field(description="The article's current version; the new one will follow")
    feedback: str | None
