"""Scheduled batches: a cron expression (UTC) and the titles to submit each time it fires."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from app.accounts import service as accounts
from app.accounts.auth import allow, must_own
from app.accounts.permissions import Permission
from app.accounts.principal import Principal
from app.core.auth import SessionDep
from app.core.schemas import MAX_STR_ID_LENGTH, STR_ID_PATTERN, limit_query, offset_query
from app.schedules import repository, service
from app.schedules.cron import next_run
from app.schedules.models import Schedule
from app.schedules.schemas import ScheduleIn, ScheduleOut, SchedulePage, SchedulePatch

router = APIRouter(prefix="/api/schedules", tags=["schedules"])
readers = [allow(Permission.READ)]
# Editors and reviewers keep schedules of their own (must_own); admins any.
Submitter = Annotated[Principal, allow(Permission.SUBMIT)]

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
def create_schedule(who: Submitter, body: ScheduleIn, session: SessionDep,
                    response: Response) -> ScheduleOut:
    """Submit these titles as a batch every time the cron expression fires."""
    schedule = service.create(session, body.name, body.cron, body.titles, body.category,
                              body.enabled, body.mode, body.language, body.priority,
                              accounts.owner_for(session, who, body.owner))
    response.headers["Location"] = f"/api/schedules/{schedule.id}"
    return _out(schedule)


@router.get("", response_model=SchedulePage, dependencies=readers)
def list_schedules(
    session: SessionDep,
    limit: int = limit_query(50, 200),
    offset: int = offset_query(),
) -> SchedulePage:
    rows, total = repository.list_schedules(session, limit=limit, offset=offset)
    return SchedulePage(items=[_out(s) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/{schedule_id}", response_model=ScheduleOut, responses=NOT_FOUND,
            dependencies=readers)
def get_schedule(schedule_id: ScheduleId, session: SessionDep) -> ScheduleOut:
    return _out(service.get_or_404(session, schedule_id))


@router.patch("/{schedule_id}", response_model=ScheduleOut,
              responses={**NOT_FOUND, 409: {"description": "The name is taken"}, **UNAVAILABLE})
def update_schedule(
    who: Submitter, schedule_id: ScheduleId, body: SchedulePatch, session: SessionDep
) -> ScheduleOut:
    """Change any field; the next run follows the change without restarting beat. A null
    leaves a field as it is, except `owner`, which null (or blank) removes."""
    _must_own(session, who, schedule_id)
    fields = body.model_dump(include=body.model_fields_set)
    if "owner" in fields:
        fields["owner"] = accounts.owner_for(session, who, fields["owner"])
    changes = service.Changes.of(**fields)
    return _out(service.update(session, schedule_id, changes))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**NOT_FOUND, **UNAVAILABLE})
def delete_schedule(who: Submitter, schedule_id: ScheduleId, session: SessionDep) -> Response:
    """Stop and forget the schedule. Batches it already made stay."""
    _must_own(session, who, schedule_id)
    service.delete(session, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _must_own(session: SessionDep, who: Principal, schedule_id: str) -> None:
    must_own(who, service.get_or_404(session, schedule_id).owner, f"schedule {schedule_id}")
