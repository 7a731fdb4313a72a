"""Tell the world a batch moved: Celery's result backend (AsyncResult, Flower) and pub/sub.

Called while the batch row is still locked, so announcements go out in commit order and a later
one never carries older progress than an earlier one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from app.models import ItemStatus
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
    # The Celery mirror changes only when the counts may have: an item claimed or retried moves
    # none, and storing it costs five Redis commands (GET, MULTI, SETEX, PUBLISH, EXEC).
    moved = item is None or snapshot.final or item.get("status") in ItemStatus.FINAL
    if snapshot.celery_task_id and moved:
        try:
            _mirror(snapshot.celery_task_id, snapshot)
        except Exception as exc:  # the result backend is a mirror; never fail the item for it
            log.warning("could not store Celery progress of batch %s: %s", snapshot.task_id, exc)
    event: dict[str, Any] = {"type": "progress", **snapshot.as_dict()}
    if item is not None:
        event["item"] = item
    events.publish(snapshot.task_id, event)


def _mirror(celery_task_id: str, snapshot: Snapshot) -> None:
    """Store the batch's meta under its Celery task id, as `store_result` would.

    PROGRESS goes out as one SET in Celery's own format. `store_result` would add a GET (so a
    late write never overwrites SUCCESS: ours cannot, the batch is not final and its row is
    locked until this returns) and a PUBLISH (AsyncResult.get() waits for SUCCESS only).
    """
    from app.celery_app import app

    backend = app.backend
    client = getattr(backend, "client", None)
    if snapshot.final or client is None:
        state = "SUCCESS" if snapshot.final else "PROGRESS"
        backend.store_result(celery_task_id, celery_meta(snapshot), state)
        return
    value = backend.encode({
        "status": "PROGRESS", "result": celery_meta(snapshot), "traceback": None,
        "children": [], "date_done": None, "task_id": celery_task_id,
    })
    expires = int(backend.expires) if backend.expires else None
    client.set(backend.get_key_for_task(celery_task_id), value, ex=expires)


def item_event(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "index": item.index,
        "status": item.status,
        "attempts": item.attempts,
        "error": item.error,
    }


def eta_seconds(
    started_at: datetime | None, now: datetime, current: int, total: int, final: bool
) -> float | None:
    """Seconds until the batch ends at the rate it has kept so far (items ended per second).

    None until the first item ends (no rate yet) and once the batch is final.
    """
    if final or started_at is None or current <= 0 or total <= 0:
        return None
    if started_at.tzinfo is None:  # SQLite hands back naive UTC
        started_at = started_at.replace(tzinfo=UTC)
    elapsed = (now - started_at).total_seconds()
    if elapsed <= 0:
        return None
    remaining = max(total - current, 0)
    return round(remaining * elapsed / current, 1)
