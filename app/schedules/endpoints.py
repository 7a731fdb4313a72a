"""Scheduled batches: a cron expression (UTC) and the titles to submit each time it fires."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from app.core.auth import SessionDep, require_token
from app.core.schemas import MAX_STR_ID_LENGTH, STR_ID_PATTERN, limit_query, offset_query
from app.schedules import repository, service
from app.schedules.cron import next_run
from app.schedules.models import Schedule
from app.schedules.schemas import ScheduleIn, ScheduleOut, SchedulePage, SchedulePatch

router = APIRouter(
    prefix="/api/schedules", tags=["schedules"], dependencies=[Depends(require_token)]
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No schedule with this id"}}
ScheduleId = Annotated[str, Path(min_length=1, max_length=MAX_STR_ID_LENGTH, pattern=STR_ID_PATTERN,
                                 description="The schedule's id")]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Redis (where beat reads schedules) is unavailable; nothing changed"}
}


def _out(schedule: Schedule) -> ScheduleOut:
    fields = {name: getattr(schedule, name) for name in ScheduleOut.model_fields
              if name != "next_run_at"}
    return ScheduleOut(**fields, next_run_at=next_run(schedule))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ScheduleOut,
             responses={409: {"description": "The name is taken"}, **UNAVAILABLE})
def create_schedule(body: ScheduleIn, session: SessionDep, response: Response) -> ScheduleOut:
    """Submit these titles as a batch every time the cron expression fires."""
    schedule = service.create(session, body.name, body.cron, body.titles, body.category,
                              body.enabled, body.mode, body.language, body.priority, body.owner)
    response.headers["Location"] = f"/api/schedules/{schedule.id}"
    return _out(schedule)


@router.get("", response_model=SchedulePage)
def list_schedules(
    session: SessionDep,
    limit: int = limit_query(50, 200),
    offset: int = offset_query(),
) -> SchedulePage:
    rows, total = repository.list_schedules(session, limit=limit, offset=offset)
    return SchedulePage(items=[_out(s) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/{schedule_id}", response_model=ScheduleOut, responses=NOT_FOUND)
def get_schedule(schedule_id: ScheduleId, session: SessionDep) -> ScheduleOut:
    return _out(service.get_or_404(session, schedule_id))


@router.patch("/{schedule_id}", response_model=ScheduleOut,
              responses={**NOT_FOUND, 409: {"description": "The name is taken"}, **UNAVAILABLE})
def update_schedule(
    schedule_id: ScheduleId, body: SchedulePatch, session: SessionDep
) -> ScheduleOut:
    """Change any field; the next run follows the change without restarting beat. A null
    leaves a field as it is, except `owner`, which null (or blank) removes."""
    changes = service.Changes.of(**body.model_dump(include=body.model_fields_set))
    return _out(service.update(session, schedule_id, changes))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**NOT_FOUND, **UNAVAILABLE})
def delete_schedule(schedule_id: ScheduleId, session: SessionDep) -> Response:
    """Stop and forget the schedule. Batches it already made stay."""
    service.delete(session, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
