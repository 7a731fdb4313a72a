"""Write one item's article: claim it, stream it from the LLM, store it, decide on retries."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded

from app.config import get_settings
from app.db import session_scope
from app.llm import get_provider
from app.llm.base import ArticleRequest, Generated, LLMError, RateLimited, TransientError
from app.logs import bind_log_context
from app.metrics import count_retry, instrumented
from app.models import AIGenerationTask, BatchStatus, GenerationItem, ItemStatus, utcnow
from app.services import events, ratelimit, state
from app.services.progress import announce

log = logging.getLogger(__name__)

WORKER_NAME = socket.gethostname()


class Cancelled(Exception):
    """The batch was cancelled while this item was being written."""


class LeaseLost(Exception):
    """Another worker reclaimed the item (our lease ran out): stop without writing."""


class DeadlineExceeded(Exception):
    """The item ran past its time limit (enforced here for pools without signals)."""


@dataclass(frozen=True)
class Outcome:
    """What the task adapter should do next: nothing, or retry after `countdown` seconds."""

    status: str
    countdown: float | None = None


SKIPPED = Outcome("skipped")


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, capped (attempt counts from 1)."""
    settings = get_settings()
    ceiling = min(settings.llm_retry_backoff_max, settings.llm_retry_backoff * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


class _Checkpoint:
    """Runs between streamed chunks: cancel check and deadline.

    While it is in use (`with checkpoint:`), a background thread keeps the item's lease alive
    and reads the cancel flag from the database, so a slow first token or a long silent gap is
    not mistaken for a dead worker, and a cancel is seen even when Redis lost its flag.
    """

    def __init__(self, item: GenerationItem, worker: str, deadline: float | None) -> None:
        settings = get_settings()
        self.item = item
        self.worker = worker
        self.deadline = deadline
        self.lease = settings.item_lease_seconds
        self.heartbeat_every = max(1.0, self.lease / 3)
        self.cancel_every = 0.25
        self.next_cancel_check = time.monotonic()
        self.stop: type[Exception] | None = None  # set by the heartbeat thread
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_lease, name=f"lease-item-{item.id}", daemon=True
        )

    def __enter__(self) -> _Checkpoint:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def _keep_lease(self) -> None:
        while not self._done.wait(self.heartbeat_every):
            try:
                with session_scope() as session:
                    batch = session.get(AIGenerationTask, self.item.task_id)
                    if batch is not None and batch.cancel_requested:
                        self.stop = Cancelled
                    elif not state.heartbeat(session, self.item.id, self.worker, self.lease):
                        self.stop = LeaseLost
            except Exception as exc:  # the lease has slack for a missed beat or two
                log.warning("item %s: lease heartbeat failed: %s", self.item.id, exc)
            if self.stop is not None:
                return

    def __call__(self, _size: int) -> None:
        if self.stop is not None:
            raise self.stop()
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline:
            raise DeadlineExceeded()
        if now >= self.next_cancel_check:
            self.next_cancel_check = now + self.cancel_every
            if events.cancel_flagged(self.item.task_id):
                raise Cancelled()


def _item_event(item: GenerationItem, status: str, error: str | None = None) -> dict:
    return {
        "id": item.id,
        "index": item.index,
        "status": status,
        "attempts": item.attempts,
        "error": error,
    }


def run_item(item_id: int, *, worker: str | None = None, deadline: float | None = None) -> Outcome:
    """One attempt at one item. Safe to call any number of times for the same item."""
    settings = get_settings()
    worker = worker or WORKER_NAME
    with session_scope() as session:
        item = state.claim_item(session, item_id, worker, settings.item_lease_seconds)
        if item is None:
            log.info("item %s is not claimable (done, running elsewhere or cancelled)", item_id)
            return SKIPPED
        batch = session.get(AIGenerationTask, item.task_id)
        assert batch is not None
        request = ArticleRequest(title=item.title, category=batch.category)
        # A claim moves no count, so no recount under the batch lock (the hot path of every
        # item); only a batch nobody dispatched yet (plan-style call) needs moving along.
        if batch.status == BatchStatus.PENDING:
            snapshot = state.refresh_batch(session, item.task_id)
        else:
            snapshot = state.Snapshot.of(batch)
        announce(snapshot, _item_event(item, ItemStatus.PROCESSING))
    bind_log_context(batch_id=item.task_id, item_id=item.id)  # every log line below carries them
    log.info(
        "batch %s item %s attempt %s: generating %r",
        item.task_id,
        item.id,
        item.attempts,
        item.title[:80],
    )
    try:
        # Waits for the shared LLM_RPM/LLM_TPM slot first (cancel and deadline still apply).
        with _Checkpoint(item, worker, deadline) as checkpoint:
            generated = ratelimit.generate(instrumented(get_provider()), request, checkpoint)
    except Cancelled:
        return _finish(item, "cancelled")
    except LeaseLost:
        log.warning("item %s was reclaimed by another worker; dropping this attempt", item.id)
        return SKIPPED
    except DeadlineExceeded:
        return _fail(item, f"time limit exceeded (after {item.attempts} attempt(s))")
    except SoftTimeLimitExceeded:
        limit = settings.celery_task_soft_time_limit
        return _fail(item, f"time limit exceeded: soft limit of {limit} s reached")
    except LLMError as exc:
        return _after_error(item, exc)
    except Exception as exc:  # a bug or an odd provider reply: retry, bounded like the rest
        log.exception("item %s: unexpected error", item.id)
        return _after_error(item, TransientError(f"unexpected error: {exc}"))
    return _complete(item, request.category, generated)


def time_limit_hit(item_id: int, limit: int, worker: str | None = None) -> Outcome:
    """The soft time limit fired inside the task: end the item as failed, with the reason."""
    with session_scope() as session:
        item = session.get(GenerationItem, item_id)
        if item is None or item.status != ItemStatus.PROCESSING:
            return SKIPPED
        if worker is not None and item.worker != worker:
            return SKIPPED  # not our claim (we never got it, or another worker took it over)
    return _fail(item, f"time limit exceeded: soft limit of {limit} s reached")


def _complete(item: GenerationItem, category: str, generated: Generated) -> Outcome:
    with session_scope() as session:
        snapshot = state.complete_item(session, item, category, generated)
        if snapshot is not None:
            announce(snapshot, _item_event(item, ItemStatus.COMPLETED))
    log.info(
        "batch %s item %s completed (%s tokens)", item.task_id, item.id, generated.total_tokens
    )
    return Outcome(ItemStatus.COMPLETED)


def _fail(item: GenerationItem, error: str) -> Outcome:
    with session_scope() as session:
        snapshot = state.fail_item(session, item, error)
        if snapshot is not None:
            announce(snapshot, _item_event(item, ItemStatus.FAILED, error))
    log.warning("batch %s item %s failed: %s", item.task_id, item.id, error)
    return Outcome(ItemStatus.FAILED)


def _finish(item: GenerationItem, why: str) -> Outcome:
    with session_scope() as session:
        snapshot = state.cancel_running_item(session, item)
        if snapshot is not None:
            announce(snapshot, _item_event(item, ItemStatus.CANCELLED, why))
    log.info("batch %s item %s stopped: %s", item.task_id, item.id, why)
    return Outcome(ItemStatus.CANCELLED)


def _after_error(item: GenerationItem, exc: LLMError) -> Outcome:
    settings = get_settings()
    error = f"{type(exc).__name__}: {exc}"
    if not exc.retryable or item.attempts > settings.llm_max_retries:
        if exc.retryable:
            error = f"gave up after {item.attempts} attempts: {error}"
        return _fail(item, error)
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        countdown = exc.retry_after + random.uniform(0, 0.25)
    else:
        countdown = backoff(item.attempts)
    with session_scope() as session:
        if not state.retry_item(session, item, error, utcnow() + timedelta(seconds=countdown)):
            return SKIPPED
        batch = state.lock_batch(session, item.task_id)
        if batch is not None:
            announce(state.Snapshot.of(batch), _item_event(item, ItemStatus.RETRYING, error))
    count_retry(exc)
    log.info(
        "batch %s item %s attempt %s failed (%s); retrying in %.1f s",
        item.task_id,
        item.id,
        item.attempts,
        error,
        countdown,
    )
    return Outcome(ItemStatus.RETRYING, countdown)
