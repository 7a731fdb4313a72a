"""Periodic housekeeping run by beat (RedBeat)."""

from __future__ import annotations

from typing import Any

from app.celery_app import app
from app.services import reaper


@app.task(name="app.tasks.maintenance.reap_stuck_items", ignore_result=True)
def reap_stuck_items() -> dict[str, Any]:
    """Re-enqueue items whose worker died or whose message was lost; fail hopeless ones."""
    return reaper.reap().as_dict()
