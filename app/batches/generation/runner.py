"""Write one item's article: claim it, stream it from the LLM, store it, decide on retries."""

from __future__ import annotations

import logging
import random
import socket
from dataclasses import dataclass
from datetime import timedelta

import redis
from celery.exceptions import SoftTimeLimitExceeded

from app.batches import state
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.generation import answer, quality_gate
from app.batches.generation.checkpoint import Cancelled, Checkpoint, DeadlineExceeded, LeaseLost
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot, announce, item_event
from app.batches.spend import costs
from app.batches.spend.budget import Refusal, Reservation
from app.config import get_settings
from app.core.db import session_scope
from app.core.logs import bind_log_context
from app.core.models import utcnow
from app.llm import ratelimit
from app.llm.base import (
    ArticleRequest,
    Generated,
    LLMError,
    LLMProvider,
    RateLimited,
    TransientError,
    Truncated,
)
from app.llm.instrumentation import count_retry, instrumented_provider

log = logging.getLogger(__name__)

WORKER_NAME = socket.gethostname()


@dataclass(frozen=True)
class Outcome:
    """How the attempt ended. A retry is not the task's business: the item is back in its
    batch's backlog with its next_attempt_at, and the feeder sends it again once it is due."""

    status: str
    retry_in: float | None = None  # seconds, when it will be tried again


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
            log.info("item %s is not claimable (done, running elsewhere, cancelled or paused)",
                     item_id)
            return SKIPPED
        batch = session.get(AIGenerationTask, item.task_id)
        assert batch is not None
        # The item's language and its category's profile (app/batches/generation/quality_gate.py).
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
    provider = instrumented_provider()
    try:
        # Before any call: its worst-case cost under the daily, monthly and batch caps.
        reservation = _reserve(item, batch, provider, request, worker)
    except redis.RedisError as exc:  # fail closed, as with the rate limiter
        return _after_error(item, TransientError(f"budget counters unavailable: {exc}"))
    if isinstance(reservation, Refusal):
        return _pause(item, reservation)
    generated: Generated | None = None
    billed: float | None = 0.0  # what a failed call cost: nothing, unless the provider answered
    try:
        # Waits for the shared LLM_RPM/LLM_TPM slot first (cancel and deadline still apply).
        with Checkpoint(item, worker, deadline) as checkpoint:
            generated = ratelimit.generate(provider, request, checkpoint)
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
    finally:
        if generated is None:
            costs.settle(reservation, billed)
    cost = answer.price(generated, "realtime")
    costs.settle(reservation, cost)
    return _complete(answer.judge(item, job, generated, "realtime", cost))


def _reserve(item: GenerationItem, batch: AIGenerationTask, provider: LLMProvider,
             request: ArticleRequest, worker: str) -> Reservation | Refusal | None:
    if not costs.caps_apply(batch):
        return None
    model = request.model or str(getattr(provider, "model", provider.name))
    unpriced = costs.unpriced_refusal(provider.name, model, batch)
    if unpriced is not None:
        return unpriced
    amount = costs.worst_case(provider.name, model, request)
    return costs.reserve(f"item-{item.id}:{item.attempts}:{worker}", amount, batch)


def time_limit_hit(item_id: int, limit: int, worker: str | None = None) -> Outcome:
    """The soft time limit fired inside the task: end the item as failed, with the reason."""
    with session_scope() as session:
        item = session.get(GenerationItem, item_id)
        if item is None or item.status != ItemStatus.PROCESSING:
            return SKIPPED
        if worker is not None and item.worker != worker:
            return SKIPPED  # not our claim (we never got it, or another worker took it over)
    return _fail(item, f"time limit exceeded: soft limit of {limit} s reached")


def _complete(done: answer.Answer) -> Outcome:
    """Keep the answer (app.batches.generation.answer: the Batch API lane's lines take the same
    path) or write it again at once, with the reasons in its prompt."""
    item, generated = done.item, done.generated
    with session_scope() as session:
        batch = state.lock_batch(session, item.task_id)
        status = answer.keep(session, batch, done) if batch is not None else None
        if batch is None or status is None:
            return SKIPPED
        why = done.verdict.reason if status == ItemStatus.RETRYING else None
        announce(session, answer.progress(session, batch), item_event(item, status, why))
    if status == ItemStatus.RETRYING:
        return Outcome(ItemStatus.RETRYING, 0.0)
    log.info("batch %s item %s completed (%s tokens%s)", item.task_id, item.id,
             generated.total_tokens, ", estimated" if generated.tokens_estimated else "")
    return Outcome(ItemStatus.COMPLETED)


def _pause(item: GenerationItem, refusal: Refusal) -> Outcome:
    """No call starts: the item waits again (its attempt not counted) and the batch pauses."""
    with session_scope() as session:
        snapshot = state.pause_item(session, item, refusal)
        if snapshot is not None:
            event = item_event(item, ItemStatus.PENDING, refusal.reason)
            announce(session, snapshot, {**event, "attempts": item.attempts - 1})
    log.warning("batch %s paused before item %s: %s", item.task_id, item.id, refusal.reason)
    return Outcome(BatchStatus.PAUSED)


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


def attempt_limit(exc: LLMError) -> int:
    """How many attempts an item gets for this error class: LLM_MAX_RETRIES + 1, or fewer when
    the class says so (an empty answer gets one more try, not five)."""
    limit = get_settings().llm_max_retries + 1
    return min(limit, exc.max_attempts) if exc.max_attempts is not None else limit


def _after_error(item: GenerationItem, exc: LLMError) -> Outcome:
    error = f"{type(exc).__name__}: {exc}"
    if not exc.retryable or item.attempts >= attempt_limit(exc):
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
