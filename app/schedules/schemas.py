"""Request and response models of the schedule API (validated once, by the domain)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from app.config import get_settings
from app.core.schemas import OutModel

_settings = get_settings()
Title = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": _settings.max_title_length})]
Titles = Annotated[list[Title], Field(
    examples=[["This week in savings accounts"]],
    json_schema_extra={"minItems": 1, "maxItems": _settings.max_titles_per_batch})]
Name = Annotated[StrictStr, Field(examples=["Weekly guides"],
                                  json_schema_extra={"minLength": 1, "maxLength": 100})]
Cron = Annotated[StrictStr, Field(
    description="Standard 5-field cron, in UTC (minute hour day-of-month month "
    "day-of-week), or @hourly, @daily, @weekly, @monthly, @yearly.",
    examples=["0 6 * * mon"], json_schema_extra={"minLength": 1, "maxLength": 100})]
Category = Annotated[StrictStr, Field(examples=["guide"],
                                      json_schema_extra={"minLength": 1, "maxLength": 200})]
Language = Annotated[StrictStr, Field(
    description="BCP 47 tag of each run's articles, or `auto` (each title's own language); "
    "null: the ARTICLE_LANGUAGE setting at run time.", examples=["zh-CN"],
    json_schema_extra={"maxLength": 35})]


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    cron: Cron
    titles: Titles
    category: Category
    enabled: StrictBool = True
    language: Language | None = None


class SchedulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    cron: Cron | None = None
    titles: Titles | None = None
    category: Category | None = None
    enabled: StrictBool | None = None
    language: Language | None = None


class ScheduleOut(OutModel):
    id: str
    name: str
    cron: str
    titles: list[str]
    category: str
    enabled: bool
    language: str | None
    run_count: int
    last_run_at: datetime | None
    last_batch_id: str | None
    last_error: str | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    total: int
    limit: int
    offset: int
