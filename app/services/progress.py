"""Tell the world a batch moved: Celery's result backend (AsyncResult, Flower) and pub/sub.

Called while the batch row is still locked, so announcements go out in commit order and a later
one never carries older progress than an earlier one.
"""

from __future__ import annotations

import logging
from typing import Any

from app.services import events
from app.services.state import Snapshot

log = logging.getLogger(__name__)


def celery_meta(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "batch_id": snapshot.task_id,
        "status": snapshot.status,
        "current": snapshot.current,
        "total": snapshot.total,
        "progress": snapshot.progress,
    }


def announce(snapshot: Snapshot, item: dict[str, Any] | None = None) -> None:
    if snapshot.celery_task_id:
        from app.celery_app import app

        state = "SUCCESS" if snapshot.final else "PROGRESS"
        try:
            app.backend.store_result(snapshot.celery_task_id, celery_meta(snapshot), state)
        except Exception as exc:  # the result backend is a mirror; never fail the item for it
            log.warning("could not store Celery progress of batch %s: %s", snapshot.task_id, exc)
    event: dict[str, Any] = {"type": "progress", **snapshot.as_dict()}
    if item is not None:
        event["item"] = item
    events.publish(snapshot.task_id, event)


def item_event(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "index": item.index,
        "status": item.status,
        "attempts": item.attempts,
        "error": item.error,
    }
