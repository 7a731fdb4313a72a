"""Start a batch: to its backlog (fed to the workers by app.batches.scheduling.feeder) or to the
Batch API."""

from __future__ import annotations

import logging

from redis.exceptions import LockError
from sqlalchemy.exc import IntegrityError

from app.batches import state
from app.batches.enums import BatchMode
from app.batches.models import AIGenerationTask
from app.batches.progress import Snapshot, announce
from app.batches.provider_lane import lane
from app.batches.scheduling import feeder
from app.batches.service import create_batch
from app.core import names
from app.core.db import session_scope
from app.core.redis import get_redis

log = logging.getLogger(__name__)

OFFLINE_NOTE = ("batch mode needs a provider with a Batch API (OpenAI or a compatible server); "
                "the offline writer wrote this batch in real time")


def launch_batch(batch_id: str) -> Snapshot | None:
    """Start the batch: its items wait in its backlog and the feeder
    (app.batches.scheduling.feeder) sends
    them as slots free up; a batch in mode "batch" goes to the provider's Batch API instead.
    Running it twice does nothing new.

    A Redis lock (token + timeout) keeps two dispatchers of one batch apart, so its Batch API
    submission is made once.
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
            snapshot = Snapshot.of(batch)
            announce(session, snapshot)
            if not use_lane:
                feeder.kick(session)
        if use_lane:
            lane.submit(batch_id)  # its items go to the provider's Batch API, not the queue
        log.info("batch %s dispatched (%s)", batch_id,
                 "to the Batch API" if use_lane else "its backlog is fed as slots free up")
        return snapshot
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("dispatch lock of batch %s expired before release", batch_id)


def _use_lane(batch: AIGenerationTask) -> bool:
    """A batch in mode "batch" goes to the Batch API when this worker's provider has one;
    with the offline writer it runs in real time: its mode says so from now on (the feeder
    leaves batch-mode items to the lane) and a note says why."""
    if batch.mode != BatchMode.BATCH:
        return False
    if lane.available():
        return True
    state.run_in_realtime(batch, OFFLINE_NOTE)
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
