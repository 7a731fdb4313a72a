"""Write one item's article: claim it, stream it from the LLM, store it, decide on retries."""

from __future__ import annotations

import logging
import random
import socket
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded

from app.batches import quality_gate, state
from app.batches.checkpoint import Cancelled, Checkpoint, DeadlineExceeded, LeaseLost
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot, announce, item_event
from app.config import get_settings
from app.core.db import session_scope
from app.core.logs import bind_log_context
from app.core.models import utcnow
from app.llm import ratelimit
from app.llm.base import Generated, LLMError, RateLimited, TransientError, Truncated
from app.llm.instrumentation import count_retry, instrumented_provider

log = logging.getLogger(__name__)

WORKER_NAME = socket.gethostname()


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
        # The item's language and its category's profile (app/batches/quality_gate.py).
        job = quality_gate.prepare(session, item, batch)
        request = job.request
        # A claim moves no count, so no recount under the batch lock (the hot path of every
        # item); only a batch nobody dispatched yet (plan-style call) needs moving along.
        if batch.status == BatchStatus.PENDING:
            snapshot = state.refresh_batch(session, item.task_id)
        else:
            snapshot = Snapshot.of(batch)
        announce(session, snapshot, item_event(item, ItemStatus.PROCESSING))
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
        with Checkpoint(item, worker, deadline) as checkpoint:
            generated = ratelimit.generate(instrumented_provider(), request, checkpoint)
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
    except Truncated as exc:  # cut at the token limit: kept for review, flagged "truncated"
        if exc.generated is None:
            return _after_error(item, exc)
        generated = exc.generated
    except LLMError as exc:
        return _after_error(item, exc)
    except Exception as exc:  # a bug or an odd provider reply: retry, bounded like the rest
        log.exception("item %s: unexpected error", item.id)
        return _after_error(item, TransientError(f"unexpected error: {exc}"))
    return _complete(item, job, generated)


def time_limit_hit(item_id: int, limit: int, worker: str | None = None) -> Outcome:
    """The soft time limit fired inside the task: end the item as failed, with the reason."""
    with session_scope() as session:
        item = session.get(GenerationItem, item_id)
        if item is None or item.status != ItemStatus.PROCESSING:
            return SKIPPED
        if worker is not None and item.worker != worker:
            return SKIPPED  # not our claim (we never got it, or another worker took it over)
    return _fail(item, f"time limit exceeded: soft limit of {limit} s reached")


def _complete(item: GenerationItem, job: quality_gate.Job, generated: Generated) -> Outcome:
    verdict = quality_gate.judge(item, job, generated)
    if verdict.quality is None:
        return _regenerate(item, verdict)
    with session_scope() as session:
        snapshot = state.complete_item(session, item, job.request.category, generated,
                                       verdict.quality)
        if snapshot is not None:
            announce(session, snapshot, item_event(item, ItemStatus.COMPLETED))
    log.info(
        "batch %s item %s completed (%s tokens)", item.task_id, item.id, generated.total_tokens
    )
    return Outcome(ItemStatus.COMPLETED)


def _regenerate(item: GenerationItem, verdict: quality_gate.Verdict) -> Outcome:
    """A failed quality check: another attempt at once, with the reasons in its prompt."""
    with session_scope() as session:
        snapshot = state.regenerate_item(session, item, verdict.reason, verdict.feedback)
        if snapshot is None:
            return SKIPPED
        announce(session, snapshot, item_event(item, ItemStatus.RETRYING, verdict.reason))
    return Outcome(ItemStatus.RETRYING, 0.0)


def _fail(item: GenerationItem, error: str) -> Outcome:
    with session_scope() as session:
        snapshot = state.fail_item(session, item, error)
        if snapshot is not None:
            announce(session, snapshot, item_event(item, ItemStatus.FAILED, error))
    log.warning("batch %s item %s failed: %s", item.task_id, item.id, error)
    return Outcome(ItemStatus.FAILED)


def _finish(item: GenerationItem, why: str) -> Outcome:
    with session_scope() as session:
        snapshot = state.cancel_running_item(session, item)
        if snapshot is not None:
            announce(session, snapshot, item_event(item, ItemStatus.CANCELLED, why))
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
            announce(session, Snapshot.of(batch), item_event(item, ItemStatus.RETRYING, error))
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
