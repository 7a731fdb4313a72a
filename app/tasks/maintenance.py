"""Housekeeping and scheduled runs under their task names (code in the domain packages)."""

from __future__ import annotations

from app.batches.tasks import (
    cleanup_old_data,
    poll_provider_batches,
    reap_stuck_items,
    resume_paused_batches,
)
from app.celery_app import app
from app.schedules.tasks import run_schedule, sync_schedules

__all__ = ["app", "cleanup_old_data", "poll_provider_batches", "reap_stuck_items",
           "resume_paused_batches", "run_schedule", "sync_schedules"]
