"""The Batch API lane for batches in `mode: "batch"`: the same requests as real time, at the
provider's Batch API price, within 24 hours (app.llm.batch_lane talks to the provider).

1. `submit` (from the batch's dispatch): the batch's unsent items become JSONL lines
   (custom_id = the item's id, the real-time prompt, not streamed), in provider batches of at
   most 50,000 lines / 200 MB. Each provider batch first reserves its worst-case cost at the
   batch price under the budgets; a refusal pauses the batch. Its items are `processing`, held
   by `batch-api:<provider batch id>` with no lease (the reaper leaves them alone), one attempt
   counted each. A provider that refuses the submission sends the items to real time instead.
2. `poll` (beat, every BATCH_POLL_SECONDS, on the maintenance queue): each open provider batch's
   status and request counts (finished lines move the batch's progress), and once it ended its
   output and error files: answers become articles with their tokens and batch-price cost;
   error lines, expired and never-run lines go back to the real-time lane (bounded by
   LLM_MAX_RETRIES, counted as attempts); a refused request fails its item.
3. A cancelled batch's open provider batches are cancelled at its next poll (the cancel sends
   one at once): lines finished before are stored, the rest end cancelled.

Which items a provider batch holds is in the database (GenerationItem.provider_batch_id); the
batch's `extra["provider_batches"]` keeps each one's last status and counts for readers.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import Any

from redis.exceptions import LockError
from sqlalchemy.orm import Session

from app.batches import repository, state, work
from app.batches.enums import BatchMode
from app.batches.generation import quality_gate
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot, announce
from app.batches.provider_lane import lane_state
from app.batches.provider_lane.lane_state import LaneOutcome
from app.batches.spend import costs
from app.batches.spend.budget import CAP_SETTINGS, Refusal, Reservation, format_usd
from app.config import get_settings
from app.core import names
from app.core.db import session_scope
from app.core.redis import get_redis
from app.llm import batch_lane, get_provider
from app.llm.base import Generated, LLMError
from app.llm.batch_lane import BatchState, LineResult
from app.llm.instrumentation import count_cost, count_tokens
from app.llm.openai_provider import STOP_REASONS, OpenAIProvider
from app.llm.prompt import build_messages

log = logging.getLogger(__name__)

CHUNK = 500  # lines stored per transaction when a provider batch is read


def available() -> bool:
    """True when this process's provider can take batches (the offline writer cannot)."""
    return batch_lane.supported(get_provider())


def _provider() -> OpenAIProvider:
    provider = get_provider()
    assert isinstance(provider, OpenAIProvider)
    return provider


# --- 1. submit -------------------------------------------------------------------------------


def submit(batch_id: str) -> None:
    """Send the batch's unsent items to the provider's Batch API (safe to repeat)."""
    provider = _provider()
    with session_scope(read_only=True) as session:
        batch = session.get(AIGenerationTask, batch_id)
        if batch is None or not state.is_dispatchable(batch):
            return
        items = repository.unsent_lane_items(session, batch_id)
        requests = [(item.id, quality_gate.prepare(session, item, batch).request)
                    for item in items]
    if not requests:
        return
    model = provider.model
    lines = batch_lane.build_lines(
        (str(item_id), build_messages(request), provider.batch_params(request))
        for item_id, request in requests)
    start = 0
    for group in batch_lane.split(lines):
        part = requests[start:start + len(group)]
        start += len(group)
        ids = [item_id for item_id, _ in part]
        amount = sum(costs.worst_case(provider.name, r.model or model, r, "batch")
                     for _, r in part)
        hold = f"lane-{batch_id}-{ids[0]}"
        reservation = costs.reserve(hold, amount, batch)
        if isinstance(reservation, Refusal):
            _pause(batch_id, _for_the_lane(reservation, len(ids)))
            return
        try:
            [provider_batch_id] = batch_lane.submit(
                provider.client, group, {"trustagency_batch": batch_id})
        except LLMError as exc:
            costs.release(reservation)
            log.warning("batch %s: the Batch API refused the submission (%s); writing its "
                        "items in real time", batch_id, exc)
            _to_realtime(batch_id, f"the Batch API refused the submission ({exc}); the "
                         "remaining items were written in real time")
            return
        with session_scope() as session:
            entry: dict[str, Any] = {"id": provider_batch_id, "status": "validating",
                                     "total": len(ids), "completed": 0, "failed": 0}
            if reservation is not None:  # settled with the real cost once the lines are read
                entry["hold"] = {"key": hold, "usd": reservation.amount_usd}
            _save_entry(session, batch_id, entry)
            snapshot = lane_state.send_to_lane(session, batch_id, provider_batch_id, ids)
            announce(session, snapshot)
        log.info("batch %s: %d item(s) sent to provider batch %s", batch_id, len(ids),
                 provider_batch_id)


def _for_the_lane(refusal: Refusal, requests: int) -> Refusal:
    """What a cap refused is a whole provider batch, not "one call": say so and how many."""
    if refusal.amount_usd <= refusal.limit_usd or requests < 2:
        return refusal
    return replace(refusal, reason=(
        f"{refusal.cap} budget of {format_usd(refusal.limit_usd)} is below the worst-case cost "
        f"of one provider batch of {requests} requests, {format_usd(refusal.amount_usd)} at "
        f"the batch price; raise {CAP_SETTINGS[refusal.cap]} to resume"))


def _pause(batch_id: str, refusal: Refusal) -> None:
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        if batch is None:
            return
        state.pause_batch(batch, refusal)
        announce(session, state.refresh_batch(session, batch_id, batch))
    log.warning("batch %s paused before its Batch API submission: %s", batch_id, refusal.reason)


def _to_realtime(batch_id: str, note: str) -> None:
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        if batch is None:
            return
        # Written in real time from now on: its items are in the backlog like any batch's.
        batch.extra = {**(batch.extra or {}), "note": note}
        batch.mode = BatchMode.REALTIME
        work.arrived(session)
        announce(session, Snapshot.of(batch))


def _save_entry(session: Session, batch_id: str, entry: dict[str, Any]) -> AIGenerationTask:
    """Add or update one provider batch's record on the batch (a new dict: JSON columns only
    notice assignment)."""
    batch = state.lock_batch(session, batch_id)
    assert batch is not None
    extra = dict(batch.extra or {})
    entries = [e for e in extra.get("provider_batches", []) if e["id"] != entry["id"]]
    known: dict[str, Any] = next(
        (e for e in extra.get("provider_batches", []) if e["id"] == entry["id"]), {})
    extra["provider_batches"] = [*entries, {**known, **entry}]
    batch.extra = extra
    return batch


def _entry(batch: AIGenerationTask, provider_batch_id: str) -> dict[str, Any]:
    return next((e for e in (batch.extra or {}).get("provider_batches", [])
                 if e["id"] == provider_batch_id), {"id": provider_batch_id})


# --- 2. poll ---------------------------------------------------------------------------------


def poll(batch_id: str | None = None) -> dict[str, Any]:
    """Poll every provider batch that still holds items (or those of `batch_id`)."""
    if not available():
        return {"polled": [], "skipped": "no Batch API provider in this worker"}
    with session_scope(read_only=True) as session:
        pairs = repository.open_provider_batches(session, batch_id)
    report: dict[str, Any] = {"polled": [], "settled": []}
    for task_id, provider_batch_id in pairs:
        lock = get_redis().lock(names.provider_batch_lock(provider_batch_id), timeout=600)
        if not lock.acquire(blocking=False):
            continue  # another worker is on it
        try:
            if _poll_one(task_id, provider_batch_id):
                report["settled"].append(provider_batch_id)
            report["polled"].append(provider_batch_id)
        except LLMError as exc:  # the provider is away: the next poll tries again
            log.warning("provider batch %s of batch %s: %s", provider_batch_id, task_id, exc)
        finally:
            with contextlib.suppress(LockError):
                lock.release()
    return report


def _poll_one(batch_id: str, provider_batch_id: str) -> bool:
    """One provider batch: True once its results are stored."""
    client = _provider().client
    with session_scope(read_only=True) as session:
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        cancel, entry = batch.cancel_requested, _entry(batch, provider_batch_id)
    if cancel and not entry.get("cancel_sent"):
        found = batch_lane.cancel(client, provider_batch_id)
        log.info("batch %s: provider batch %s cancelled (%s)", batch_id, provider_batch_id,
                 found.status)
    else:
        found = batch_lane.poll(client, provider_batch_id)
    with session_scope() as session:
        batch = _save_entry(session, batch_id, {
            "id": found.id, "status": found.status, "total": found.total,
            "completed": found.completed, "failed": found.failed,
            "cancel_sent": bool(cancel or entry.get("cancel_sent")),
            **({"errors": list(found.errors)[:20]} if found.errors else {})})
        _progress(batch)
        announce(session, Snapshot.of(batch))
    if not found.done:
        return False
    _store(batch_id, provider_batch_id, found, entry)
    return True


def _progress(batch: AIGenerationTask) -> None:
    """Lines a provider says it answered count toward the batch's progress (never backwards);
    they become completed items when the output file is read."""
    if not batch.total:
        return
    answered = sum(e.get("completed", 0) for e in (batch.extra or {}).get("provider_batches", [])
                   if not e.get("settled"))
    done = (batch.completed or 0) + (batch.failed or 0) + (batch.cancelled or 0)
    batch.progress = max(batch.progress or 0, min(100, (done + answered) * 100 // batch.total))


def _store(batch_id: str, provider_batch_id: str, found: BatchState,
           entry: dict[str, Any]) -> None:
    provider, settings = _provider(), get_settings()
    with session_scope(read_only=True) as session:
        items = repository.lane_items(session, provider_batch_id)
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        category = batch.category
    if found.errors:
        log.warning("provider batch %s failed: %s", provider_batch_id, "; ".join(found.errors))
    results = (batch_lane.read_results(provider.client, found, [str(i.id) for i in items])
               if items else [])
    by_id = {str(item.id): item for item in items}
    outcomes = [_outcome(by_id[r.custom_id], r, found, provider, settings.llm_max_retries)
                for r in results]
    spent = sum(o.cost_usd or 0.0 for o in outcomes)
    for start in range(0, len(outcomes), CHUNK):
        with session_scope() as session:
            snapshot, retried = lane_state.end_lane_items(
                session, batch_id, category, outcomes[start:start + CHUNK])
            if retried:  # back to the real-time lane: in the backlog, fed as slots free up
                work.arrived(session)
            if snapshot is not None:
                announce(session, snapshot)
    if hold := entry.get("hold"):
        costs.settle(Reservation(hold["key"], float(hold["usd"]), "", "", batch_id), spent)
    with session_scope() as session:
        _save_entry(session, batch_id, {"id": provider_batch_id, "settled": True})
    log.info("batch %s: provider batch %s %s, %d line(s) read ($%.6f)", batch_id,
             provider_batch_id, found.status, len(outcomes), spent)


def _outcome(item: GenerationItem, result: LineResult, found: BatchState,
             provider: OpenAIProvider, max_retries: int) -> LaneOutcome:
    finish = result.finish_reason or "stop"
    if result.ok and finish in STOP_REASONS:
        generated = Generated(
            content=(result.content or "").strip(), provider=provider.name,
            model=result.model or provider.model, prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens, finish_reason=finish)
        cost = costs.article_cost(generated, "batch")
        count_cost(generated.provider, generated.model, "batch", cost)
        count_tokens(generated.provider, generated.model, generated.prompt_tokens,
                     generated.completion_tokens)
        return LaneOutcome(item, generated=generated, cost_usd=cost)
    if result.ok:  # an answer that did not end whole: "length" will not fit the next time
        error, retryable = f"the answer ended with finish_reason {finish!r}", finish != "length"
    else:
        error, retryable = str(result.error), result.retryable
    retry = retryable and item.attempts <= max_retries
    where = f"Batch API ({found.id} {found.status})"
    return LaneOutcome(item, error=f"{where}: {error}" + ("; sent to the real-time lane"
                                                          if retry else ""), retry=retry)
