"""Hand a batch's items to the workers: one message per item, sent after the commit."""

from __future__ import annotations

import logging

from redis.exceptions import LockError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.batches import lane, state
from app.batches.enums import BatchMode, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot, announce
from app.batches.service import create_batch
from app.core import names, outbox
from app.core.db import session_scope
from app.core.models import utcnow
from app.core.redis import get_redis

log = logging.getLogger(__name__)

OFFLINE_NOTE = ("batch mode needs a provider with a Batch API (OpenAI or a compatible server); "
                "the offline writer wrote this batch in real time")


def enqueue_items(session: Session, item_ids: list[int], countdown: float | None = None) -> None:
    """Queue one message per item once `session` commits."""
    for item_id in item_ids:
        # ignore_result: otherwise the sender SUBSCRIBEs to each item's result channel (one
        # Redis command per item, and subscriptions that are never released).
        outbox.enqueue(session, names.ITEM_TASK, [item_id], countdown=countdown,
                       ignore_result=True)


def dispatch_batch(batch_id: str) -> Snapshot | None:
    """Enqueue every item of the batch not enqueued yet. Running it twice enqueues nothing new.

    A Redis lock (token + timeout) keeps two dispatchers of one batch apart; the conditional
    `enqueued_at IS NULL` update keeps them apart even if the lock expired.
    """
    lock = get_redis().lock(names.dispatch_lock(batch_id), timeout=60, blocking_timeout=5)
    if not lock.acquire():
        log.info("batch %s is being dispatched by someone else", batch_id)
        return None
    try:
        with session_scope() as session:
            batch = state.start_batch(session, batch_id)
            if batch is None:
                raise LookupError(f"batch {batch_id} does not exist")
            if not state.is_dispatchable(batch):  # ended, cancelled or paused
                return Snapshot.of(batch)
            use_lane = _use_lane(batch)
            ids = [] if use_lane else list(
                session.scalars(
                    select(GenerationItem.id)
                    .where(
                        GenerationItem.task_id == batch_id,
                        GenerationItem.status == ItemStatus.PENDING,
                        GenerationItem.enqueued_at.is_(None),
                    )
                    .order_by(GenerationItem.index)
                )
            )
            if ids:
                session.execute(
                    update(GenerationItem)
                    .where(GenerationItem.id.in_(ids), GenerationItem.enqueued_at.is_(None))
                    .values(enqueued_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            snapshot = Snapshot.of(batch)
            announce(session, snapshot)
            # Sent after the commit: a worker must find the rows. A crash between the commit
            # and the sends leaves items marked enqueued with no message; recovery finds them.
            enqueue_items(session, ids)
        if use_lane:
            lane.submit(batch_id)  # its items go to the provider's Batch API, not the queue
        log.info("batch %s: enqueued %d item(s)", batch_id, len(ids))
        return snapshot
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("dispatch lock of batch %s expired before release", batch_id)


def _use_lane(batch: AIGenerationTask) -> bool:
    """A batch in mode "batch" goes to the Batch API when this worker's provider has one;
    with the offline writer it runs in real time, with a note saying so."""
    if batch.mode != BatchMode.BATCH:
        return False
    if lane.available():
        return True
    batch.extra = {**(batch.extra or {}), "note": OFFLINE_NOTE}
    return False


def ensure_batch(
    batch_id: str, titles: list[str] | None, category: str | None, celery_task_id: str | None
) -> None:
    """Plan compatibility: `generate_article_batch.delay(batch_id, titles)` for a new id."""
    try:
        with session_scope() as session:
            if session.get(AIGenerationTask, batch_id) is not None or not titles:
                return
            batch = create_batch(session, titles, category or "general", batch_id=batch_id)
            batch.celery_task_id = celery_task_id
    except IntegrityError:
        log.info("batch %s was created concurrently", batch_id)
