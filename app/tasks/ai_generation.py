"""The plan's four tasks. Each is a thin adapter; the logic lives in app.services."""

from __future__ import annotations

import time
import uuid
from typing import Any

from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded

from app.celery_app import app
from app.config import get_settings
from app.db import session_scope
from app.services import dispatch, generation, state
from app.services.progress import announce, celery_meta


@app.task(bind=True, name="app.tasks.ai_generation.generate_article_batch")
def generate_article_batch(
    self: Task, batch_id: str, titles: list[str] | None = None, category: str | None = None
) -> dict[str, Any]:
    """Fan a batch out as one `generate_single_article` per item.

    Its Celery state then follows the batch: the item tasks store PROGRESS with
    {current, total, progress} under this task's id, and SUCCESS when the batch ends.
    """
    if titles:  # the plan's call style: generate_article_batch.delay(batch_id, titles)
        dispatch.ensure_batch(batch_id, titles, category, self.request.id)
    try:
        snapshot = dispatch.dispatch_batch(batch_id)
    except Exception as exc:
        handle_generation_error(batch_id, f"could not dispatch the batch: {exc}")
        raise
    if snapshot is not None and snapshot.final:
        return celery_meta(snapshot)
    # The batch's progress is stored under this id by the items as they end; returning a
    # result here would overwrite it with SUCCESS too early.
    raise Ignore()


@app.task(
    bind=True,
    name="app.tasks.ai_generation.generate_single_article",
    ignore_result=True,
    max_retries=None,  # bounded by the item's attempt count in the database (LLM_MAX_RETRIES)
)
def generate_single_article(self: Task, item_id: int) -> dict[str, Any]:
    """Write one item's article. Delivered twice, it writes it once."""
    settings = get_settings()
    # A token per claim: a reclaimed item's old runner can no longer heartbeat it.
    worker = f"{self.request.hostname or 'worker'}/{uuid.uuid4().hex[:8]}"
    # Pools without signal-based limits (threads, gevent) stop at this deadline instead.
    deadline = time.monotonic() + settings.celery_task_soft_time_limit
    try:
        outcome = generation.run_item(item_id, worker=worker, deadline=deadline)
    except SoftTimeLimitExceeded:
        outcome = generation.time_limit_hit(
            item_id, settings.celery_task_soft_time_limit, worker
        )
    if outcome.countdown is not None:
        raise self.retry(countdown=outcome.countdown, max_retries=None)
    return {"item_id": item_id, "status": outcome.status}


@app.task(name="app.tasks.ai_generation.update_task_status")
def update_task_status(
    batch_id: str, status: str | None = None, progress: int | None = None
) -> dict[str, Any]:
    """Recount a batch from its items and publish it. The counts, not the arguments, decide:
    `status`/`progress` (the plan's signature) are accepted for compatibility only."""
    with session_scope() as session:
        snapshot = state.refresh_batch(session, batch_id)
        announce(snapshot)
    return snapshot.as_dict()


@app.task(name="app.tasks.ai_generation.handle_generation_error")
def handle_generation_error(batch_id: str, error: str) -> dict[str, Any] | None:
    """Record a batch-level failure: waiting items fail with the reason, the batch ends."""
    with session_scope() as session:
        snapshot = state.fail_batch(session, batch_id, error)
        if snapshot is not None:
            announce(snapshot)
    return snapshot.as_dict() if snapshot else None
