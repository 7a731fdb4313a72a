"""The batches domain's Celery tasks: thin adapters, ids as arguments, each its own session.

Registered under the plan's names (app.core.names); app/tasks/ai_generation.py re-exports the
four plan tasks from here.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Ignore, SoftTimeLimitExceeded

from app.batches import resume, retention, state
from app.batches.generation import runner
from app.batches.progress import announce, celery_meta
from app.batches.provider_lane import lane
from app.batches.scheduling import feeder, launch, recovery
from app.config import get_settings
from app.core import names
from app.core.db import session_scope


@shared_task(bind=True, name=names.BATCH_TASK)
def generate_article_batch(
    self: Task, batch_id: str, titles: list[str] | None = None, category: str | None = None
) -> dict[str, Any]:
    """Fan a batch out as one `generate_single_article` per item.

    Its Celery state then follows the batch: the item tasks store PROGRESS with
    {current, total, progress} under this task's id, and SUCCESS when the batch ends.
    """
    if titles:  # the plan's call style: generate_article_batch.delay(batch_id, titles)
        launch.ensure_batch(batch_id, titles, category, self.request.id)
    try:
        snapshot = launch.launch_batch(batch_id)
    except Exception as exc:
        handle_generation_error(batch_id, f"could not dispatch the batch: {exc}")
        raise
    if snapshot is not None and snapshot.final:
        return celery_meta(snapshot)
    # The batch's progress is stored under this id by the items as they end; returning a
    # result here would overwrite it with SUCCESS too early.
    raise Ignore()


@shared_task(bind=True, name=names.ITEM_TASK, ignore_result=True)
def generate_single_article(self: Task, item_id: int) -> dict[str, Any]:
    """Write one item's article. Delivered twice, it writes it once.

    A failed attempt is not retried through Celery: the item goes back to its batch's backlog
    (attempts bounded by LLM_MAX_RETRIES in the database) and the feeder sends it when due.
    Its slot is free when this returns, so the feeder fills it right away."""
    settings = get_settings()
    # A token per claim: a reclaimed item's old runner can no longer heartbeat it.
    worker = f"{self.request.hostname or 'worker'}/{uuid.uuid4().hex[:8]}"
    # Pools without signal-based limits (threads, gevent) stop at this deadline instead.
    deadline = time.monotonic() + settings.celery_task_soft_time_limit
    try:
        outcome = runner.run_item(item_id, worker=worker, deadline=deadline)
    except SoftTimeLimitExceeded:
        outcome = runner.time_limit_hit(item_id, settings.celery_task_soft_time_limit, worker)
    finally:
        feeder.feed_quietly()
    return {"item_id": item_id, "status": outcome.status}


@shared_task(name=names.UPDATE_STATUS_TASK)
def update_task_status(
    batch_id: str, status: str | None = None, progress: int | None = None
) -> dict[str, Any]:
    """Recount a batch from its items and publish it. The counts, not the arguments, decide:
    `status`/`progress` (the plan's signature) are accepted for compatibility only."""
    with session_scope() as session:
        snapshot = state.refresh_batch(session, batch_id)
        announce(session, snapshot)
    return snapshot.as_dict()


@shared_task(name=names.BATCH_ERROR_TASK)
def handle_generation_error(batch_id: str, error: str) -> dict[str, Any] | None:
    """Record a batch-level failure: waiting items fail with the reason, the batch ends."""
    with session_scope() as session:
        snapshot = state.fail_batch(session, batch_id, error)
        if snapshot is not None:
            announce(session, snapshot)
    return snapshot.as_dict() if snapshot else None


@shared_task(name=names.REAP_TASK, ignore_result=True)
def reap_stuck_items() -> dict[str, Any]:
    """Re-enqueue items whose worker died or whose message was lost; fail hopeless ones."""
    return recovery.reap().as_dict()


@shared_task(name=names.CLEANUP_TASK, ignore_result=True)
def cleanup_old_data() -> dict[str, Any]:
    """Delete finished batches past BATCH_RETENTION_DAYS (0 = keep everything)."""
    return retention.cleanup()


@shared_task(name=names.POLL_PROVIDER_BATCHES_TASK, ignore_result=True)
def poll_provider_batches(batch_id: str | None = None) -> dict[str, Any]:
    """Poll the provider's Batch API for batches in mode "batch" (one batch's, or all). Sent
    for one batch when it is cancelled (app.batches.service.cancel); every worker's maintenance
    loop polls them all (app/worker/loop.py)."""
    return lane.poll(batch_id)


@shared_task(name=names.RESUME_PAUSED_TASK, ignore_result=True)
def resume_paused_batches() -> list[str]:
    """Resume the batches paused by a budget whose window has rolled over. Every worker's
    maintenance loop does it (app/worker/loop.py); the task is kept for a run by hand and for
    the entry an older beat may still send until it restarts."""
    return resume.resume_due()
