"""Periodic housekeeping run by beat (RedBeat), and the runs of scheduled batches."""

from __future__ import annotations

import uuid
from typing import Any

from celery import Task

from app.celery_app import app
from app.services import cleanup, reaper, schedules


@app.task(name="app.tasks.maintenance.reap_stuck_items", ignore_result=True)
def reap_stuck_items() -> dict[str, Any]:
    """Re-enqueue items whose worker died or whose message was lost; fail hopeless ones."""
    return reaper.reap().as_dict()


@app.task(name="app.tasks.maintenance.cleanup_old_data", ignore_result=True)
def cleanup_old_data() -> dict[str, Any]:
    """Delete finished batches past BATCH_RETENTION_DAYS (0 = keep everything)."""
    return cleanup.cleanup()


@app.task(name="app.tasks.maintenance.sync_schedules", ignore_result=True)
def sync_schedules() -> dict[str, Any]:
    """Rebuild the schedules' RedBeat entries from the database (after Redis lost its data)."""
    return schedules.sync_all()


@app.task(bind=True, name="app.tasks.maintenance.run_schedule")
def run_schedule(self: Task, schedule_id: str) -> dict[str, Any]:
    """One run of a schedule: an ordinary batch linked to it. Delivered twice, one batch."""
    return schedules.run(schedule_id, run_id=self.request.id or uuid.uuid4().hex)
