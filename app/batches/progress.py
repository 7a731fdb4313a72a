"""Tell the world a batch moved: pub/sub for live streams, Celery's result backend for
AsyncResult and Flower. Recorded on the session and sent after its commit (app.core.outbox).

Pub/sub events go out after the commit; two workers committing one after the other may
deliver them in the other order, so live streams keep the highest `current` they sent. The
Celery mirror is written just before the commit, under the batch row's lock, so its writes
follow the commit order and never go backwards.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from app.batches.enums import BATCH_FINAL, ITEM_FINAL
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.spend import costs
from app.core import names, outbox, queue
from app.core.logs import mask_secrets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What progress readers see: the plan's {current, total, progress} plus counts."""

    task_id: str
    status: str
    current: int
    total: int
    progress: int
    completed: int
    failed: int
    cancelled: int
    celery_task_id: str | None
    # Costs (app.batches.spend.costs.Summary) and the pause, so live readers see them change.
    cost_usd: float | None = None
    cost_remaining_usd: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_unknown: int = 0
    cost_note: str | None = None
    paused_reason: str | None = None
    resume_at: str | None = None  # ISO 8601, UTC
    # Quality (app/batches/generation/quality_gate.py): items written again, articles left for
    # review.
    regenerated: int = 0
    needs_review: int = 0

    @property
    def final(self) -> bool:
        return self.status in BATCH_FINAL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, batch: AIGenerationTask) -> Snapshot:
        current = batch.completed + batch.failed + batch.cancelled
        return cls(
            task_id=batch.id,
            status=str(batch.status),
            current=current,
            total=batch.total,
            progress=batch.progress,
            completed=batch.completed,
            failed=batch.failed,
            cancelled=batch.cancelled,
            celery_task_id=batch.celery_task_id,
            **costs.summary(batch).as_dict(),
            paused_reason=batch.paused_reason,
            resume_at=_iso(batch.resume_at),
            regenerated=batch.regenerated or 0,
            needs_review=batch.needs_review or 0,
        )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


def celery_meta(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "batch_id": snapshot.task_id,
        "status": snapshot.status,
        "current": snapshot.current,
        "total": snapshot.total,
        "progress": snapshot.progress,
    }


def scrub(error: str | None) -> str | None:
    """An error as events carry it: secrets masked as the logs mask them."""
    return None if error is None else mask_secrets(error)


def item_event(item: GenerationItem, status: str | None = None,
               error: str | None = None) -> dict[str, Any]:
    return {
        "id": item.id,
        "index": item.index,
        "status": str(status or item.status),
        "attempts": item.attempts,
        "error": scrub(error if status is not None else item.error),
    }


def announce(session: Session, snapshot: Snapshot, item: dict[str, Any] | None = None) -> None:
    """Publish the batch's progress (and the item that moved) once `session` commits."""
    # The Celery mirror changes only when the counts may have: an item claimed or retried moves
    # none, and each write is a Redis round trip.
    moved = item is None or snapshot.final or item.get("status") in ITEM_FINAL
    if snapshot.celery_task_id and moved:
        # Before the commit, under the batch row's lock: mirror writes follow the lock order,
        # so a later one never carries older progress (app.core.outbox.before_commit).
        outbox.before_commit(session, partial(_mirror, snapshot), "Celery progress mirror")
    event: dict[str, Any] = {"type": "progress", **snapshot.as_dict()}
    if item is not None:
        event["item"] = item
    outbox.publish(session, names.events_channel(snapshot.task_id), event)


def _mirror(snapshot: Snapshot) -> None:
    """Store the batch's meta under its Celery task id, as `store_result` would.

    Run by the process that moved the batch (a worker ending an item, the API cancelling...),
    just before the commit of that change, while it holds the batch row's lock (`announce`).

    PROGRESS goes out as one SET in Celery's own format. `store_result` would add a GET (so a
    late write never overwrites SUCCESS: ours cannot, it is written before the commit while
    the batch row is locked) and a PUBLISH (AsyncResult.get() waits for SUCCESS only).
    """
    assert snapshot.celery_task_id is not None
    backend = queue.celery().backend
    client = getattr(backend, "client", None)
    if snapshot.final or client is None:
        state = "SUCCESS" if snapshot.final else "PROGRESS"
        backend.store_result(snapshot.celery_task_id, celery_meta(snapshot), state)
        return
    value = backend.encode({
        "status": "PROGRESS", "result": celery_meta(snapshot), "traceback": None,
        "children": [], "date_done": None, "task_id": snapshot.celery_task_id,
    })
    expires = int(backend.expires) if backend.expires else None
    client.set(backend.get_key_for_task(snapshot.celery_task_id), value, ex=expires)


def eta_seconds(
    started_at: datetime | None, now: datetime, current: int, total: int, final: bool,
    paused: bool = False,
) -> float | None:
    """Seconds until the batch ends at the rate it has kept so far (items ended per second).

    None until the first item ends (no rate yet), once the batch is final, and while it is
    paused (nothing runs until a budget lets it: the rate so far says nothing of when).
    """
    if final or paused or started_at is None or current <= 0 or total <= 0:
        return None
    if started_at.tzinfo is None:  # SQLite hands back naive UTC
        started_at = started_at.replace(tzinfo=UTC)
    elapsed = (now - started_at).total_seconds()
    if elapsed <= 0:
        return None
    remaining = max(total - current, 0)
    return round(remaining * elapsed / current, 1)
