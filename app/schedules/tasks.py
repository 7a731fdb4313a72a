"""The schedules domain's Celery tasks (names in app.core.names)."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Task, shared_task

from app.core import names
from app.core.db import session_scope
from app.schedules import redbeat, service


@shared_task(name=names.SYNC_SCHEDULES_TASK, ignore_result=True)
def sync_schedules() -> dict[str, Any]:
    """Rebuild the schedules' RedBeat entries from the database (after Redis lost its data)."""
    return redbeat.sync_all()


@shared_task(bind=True, name=names.RUN_SCHEDULE_TASK)
def run_schedule(self: Task, schedule_id: str) -> dict[str, Any]:
    """One run of a schedule: an ordinary batch linked to it. Delivered twice, one batch."""
    with session_scope() as session:
        return service.run(session, schedule_id, run_id=self.request.id or uuid.uuid4().hex)
