"""All of the schedules domain's SQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.schedules.models import Schedule


def get(session: Session, schedule_id: str) -> Schedule | None:
    return session.get(Schedule, schedule_id)


def all_schedules(session: Session) -> list[Schedule]:
    return list(session.scalars(select(Schedule)))


def list_schedules(session: Session, *, limit: int, offset: int) -> tuple[list[Schedule], int]:
    rows = session.scalars(
        select(Schedule).order_by(Schedule.created_at.desc(), Schedule.id).limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(session.scalar(select(func.count()).select_from(Schedule)) or 0)


def count_by_enabled(session: Session) -> dict[bool, int]:
    return dict(session.execute(  # type: ignore[arg-type]
        select(Schedule.enabled, func.count()).group_by(Schedule.enabled)
    ).all())
