"""Scheduled batches: a cron expression (UTC) and the titles to submit each time it fires."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis
from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator
from sqlalchemy.orm import Session

from app.models import Schedule
from app.routes.deps import get_session, require_token
from app.schemas import _Out
from app.services import schedules
from app.services.batches import Conflict, InvalidInput, clean_category, clean_titles

router = APIRouter(
    prefix="/api/schedules", tags=["schedules"], dependencies=[Depends(require_token)]
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No schedule with this id"}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Redis (where beat reads schedules) is unavailable; nothing changed"}
}


def _check(clean: Any, value: Any) -> Any:
    try:
        return clean(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


class ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _check(schedules.clean_name, value)

    @field_validator("cron", check_fields=False)
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _check(schedules.clean_cron, value)

    @field_validator("titles", check_fields=False)
    @classmethod
    def _titles(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return clean_titles(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None  # names the title: "titles[3]: ..."

    @field_validator("category", check_fields=False)
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        return None if value is None else _check(clean_category, value)


class ScheduleIn(ScheduleFields):
    name: StrictStr = Field(examples=["Weekly guides"])
    cron: StrictStr = Field(
        description="Standard 5-field cron, in UTC (minute hour day-of-month month "
        "day-of-week), or @hourly, @daily, @weekly, @monthly, @yearly.",
        examples=["0 6 * * mon"],
    )
    titles: list[StrictStr] = Field(examples=[["This week in savings accounts"]])
    category: StrictStr = Field(examples=["guide"])
    enabled: StrictBool = True


class SchedulePatch(ScheduleFields):
    name: StrictStr | None = None
    cron: StrictStr | None = None
    titles: list[StrictStr] | None = None
    category: StrictStr | None = None
    enabled: StrictBool | None = None


class ScheduleOut(_Out):
    id: str
    name: str
    cron: str
    titles: list[str]
    category: str
    enabled: bool
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


def _out(schedule: Schedule) -> ScheduleOut:
    fields = {name: getattr(schedule, name) for name in ScheduleOut.model_fields
              if name != "next_run_at"}
    return ScheduleOut(**fields, next_run_at=schedules.next_run(schedule))


def _or_404(schedule: Schedule | None, schedule_id: str) -> Schedule:
    if schedule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"id: no schedule {schedule_id!r}")
    return schedule


def _conflict(exc: Conflict) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, detail=str(exc))


def _unavailable(exc: redis.RedisError) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=f"broker: Redis is unavailable, the schedule was not changed ({exc})",
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScheduleOut,
             responses={409: {"description": "The name is taken"}, **UNAVAILABLE})
def create_schedule(body: ScheduleIn, session: Session = Depends(get_session)) -> ScheduleOut:
    """Submit these titles as a batch every time the cron expression fires."""
    try:
        schedule = schedules.create(session, body.name, body.cron, body.titles, body.category,
                                    body.enabled)
    except Conflict as exc:
        raise _conflict(exc) from exc
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    return _out(schedule)


@router.get("", response_model=SchedulePage)
def list_schedules(
    session: Session = Depends(get_session),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> SchedulePage:
    rows, total = schedules.list_schedules(session, limit=limit, offset=offset)
    return SchedulePage(items=[_out(s) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/{schedule_id}", response_model=ScheduleOut, responses=NOT_FOUND)
def get_schedule(schedule_id: str, session: Session = Depends(get_session)) -> ScheduleOut:
    return _out(_or_404(schedules.get(session, schedule_id), schedule_id))


@router.patch("/{schedule_id}", response_model=ScheduleOut,
              responses={**NOT_FOUND, 409: {"description": "The name is taken"}, **UNAVAILABLE})
def update_schedule(schedule_id: str, body: SchedulePatch,
                    session: Session = Depends(get_session)) -> ScheduleOut:
    """Change any field; the next run follows the change without restarting beat."""
    changes = schedules.Changes(**body.model_dump(exclude_none=True))
    try:
        schedule = schedules.update(session, schedule_id, changes)
    except Conflict as exc:
        raise _conflict(exc) from exc
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    return _out(_or_404(schedule, schedule_id))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**NOT_FOUND, **UNAVAILABLE})
def delete_schedule(schedule_id: str, session: Session = Depends(get_session)) -> Response:
    """Stop and forget the schedule. Batches it already made stay."""
    try:
        found = schedules.delete(session, schedule_id)
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"id: no schedule {schedule_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
