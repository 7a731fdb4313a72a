"""Request and response models of the schedule API (validated once, by the domain)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from app.batches.api.schemas import TITLES_DESCRIPTION, Category, Owner, PriorityName
from app.batches.validation import LINE_PATTERN
from app.config import get_settings
from app.core.schemas import LANGUAGE_PATTERN, OutModel, Scrubbed
from app.schedules.cron import CRON_MAX_LENGTH, CRON_PATTERN
from app.schedules.service import NAME_MAX_LENGTH

_settings = get_settings()
Title = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": _settings.max_title_length, "pattern": LINE_PATTERN})]
Titles = Annotated[list[Title], Field(
    description=TITLES_DESCRIPTION, examples=[["This week in savings accounts"]],
    json_schema_extra={"minItems": 1, "maxItems": _settings.max_titles_per_batch})]
Name = Annotated[StrictStr, Field(
    description="One line of 1-100 characters, not only spaces, no control characters; "
    "unique among schedules.", examples=["Weekly guides"],
    json_schema_extra={"minLength": 1, "maxLength": NAME_MAX_LENGTH, "pattern": LINE_PATTERN})]
Cron = Annotated[StrictStr, Field(
    description="Standard 5-field cron, in UTC (minute hour day-of-month month "
    "day-of-week; each field *, a number, a range a-b, an optional /step of 1-99, or a list "
    "of those; months and days also by their three-letter names), or @hourly, @daily, "
    "@weekly, @monthly, @yearly. A day that never occurs in its months (31 February) is "
    "refused too.",
    examples=["0 6 * * mon"],
    json_schema_extra={"minLength": 1, "maxLength": CRON_MAX_LENGTH, "pattern": CRON_PATTERN})]
Mode = Annotated[StrictStr, Field(
    description="The lane of each batch it makes: `realtime` or `batch` (the Batch API).",
    json_schema_extra={"enum": ["realtime", "batch"]})]
Language = Annotated[StrictStr, Field(
    description="BCP 47 tag of each run's articles, or `auto` (each title's own language); "
    "null: the ARTICLE_LANGUAGE setting at run time.", examples=["zh-CN"],
    json_schema_extra={"maxLength": 35, "pattern": LANGUAGE_PATTERN})]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    cron: Cron
    titles: Titles
    category: Category
    enabled: StrictBool = True
    mode: Mode | None = None
    language: Language | None = None
    priority: PriorityName | None = Field(
        None, description="The priority of each batch it makes (null: normal).")
    owner: Owner | None = Field(None, description="The owner of each batch it makes, one line "
                                "of up to 100 characters (null or blank: none).")


class SchedulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    cron: Cron | None = None
    titles: Titles | None = None
    category: Category | None = None
    enabled: StrictBool | None = None
    mode: Mode | None = None
    language: Language | None = None
    priority: PriorityName | None = None
    owner: Owner | None = Field(None, description="The new owner of the batches it makes; "
                                "null or blank removes it.")


class ScheduleOut(OutModel):
    id: str
    name: str
    cron: str
    titles: list[str]
    category: str
    enabled: bool
    mode: str | None = None
    language: str | None = None
    priority: str | None = None
    owner: str | None = None
    run_count: int
    last_run_at: datetime | None
    last_batch_id: str | None
    last_error: Scrubbed | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    total: int
    limit: int
    offset: int
