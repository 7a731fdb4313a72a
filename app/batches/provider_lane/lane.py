"""The Batch API lane for batches in `mode: "batch"`: the same requests as real time, at the
provider's Batch API price, within 24 hours (app.llm.batch_lane talks to the provider).

1. `submit` (from the batch's launch): the batch's unsent items become JSONL lines
   (custom_id = the item's id, the real-time prompt, not streamed), in provider batches of at
   most 50,000 lines / 200 MB. Each provider batch first reserves its worst-case cost at the
   batch price under the budgets (a refusal pauses the batch); then its file is uploaded, and
   the intent is committed before anything is paid for (app.batches.provider_lane.lane_state:
   the items `processing`, held by the intent); then the provider batch is created with the
   intent in its metadata and adopted (its id on the items, one attempt counted each; no
   lease: the reaper leaves them alone). A provider that refuses the submission sends the
   items to real time instead, with a note.
2. `poll` (every BATCH_POLL_SECONDS): each open provider batch's status and request counts
   (answered lines move the batch's progress), and once it ended its output and error files
   (app.batches.provider_lane.results): each answer takes the real-time path
   (app.batches.generation.answer: priced at the batch price, judged by the quality checks,
   stored, kept for review, or written again in real time); error, expired and never-run lines
   go to the real-time lane (bounded by LLM_MAX_RETRIES), a refused request fails its item.
   An intent still "creating" after `intent_grace()` (its submitter died, or the provider did
   not answer) is reconciled: the provider batch is looked up by its metadata and adopted, or
   created then; never two for one intent.
3. A cancelled batch's open provider batches are cancelled at its next poll (the cancel sends
   one at once): lines finished before are stored, the rest end cancelled.

Which items a provider batch holds is in the database (GenerationItem.provider_batch_id); the
batch's `extra["provider_batches"]` keeps each one's last status and counts for readers.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from redis.exceptions import LockError

from app.batches import repository, state, work
from app.batches.generation import answer, quality_gate
from app.batches.models import AIGenerationTask
from app.batches.progress import announce
from app.batches.provider_lane import lane_state, results
from app.batches.provider_lane.lane_state import CREATING, INTENT_KEY
from app.batches.spend import costs
from app.batches.spend.budget import CAP_SETTINGS, Refusal, Reservation, format_usd
from app.config import get_settings
from app.core import names
from app.core.db import session_scope
from app.core.redis import get_redis
from app.llm import batch_lane, get_provider
from app.llm.base import LLMError
from app.llm.batch_lane import BatchState
from app.llm.openai_provider import OpenAIProvider
from app.llm.prompt import build_messages

log = logging.getLogger(__name__)


def available() -> bool:
    """True when this process's provider can take batches (the offline writer cannot)."""
    return batch_lane.supported(get_provider())


def intent_grace() -> float:
    """How long an intent may stay "creating" before the poller takes it over: its submitter's
    `batches.create` is one request bounded by the client timeout (no SDK retries); twice
    that, and it has answered or its worker is gone."""
    return 2 * get_settings().llm_request_timeout


def _provider() -> OpenAIProvider:
    provider = get_provider()
    assert isinstance(provider, OpenAIProvider)
    return provider


# --- 1. submit -------------------------------------------------------------------------------


def submit(batch_id: str) -> None:
    """Send the batch's unsent items to the provider's Batch API (safe to repeat: items held by
    an intent or a provider batch are not unsent)."""
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
    lines = batch_lane.build_lines(
        (str(item_id), build_messages(request), provider.batch_params(request))
        for item_id, request in requests)
    start = 0
    for group in batch_lane.split(lines):
        part = requests[start:start + len(group)]
        start += len(group)
        ids = [item_id for item_id, _ in part]
        amount = sum(costs.worst_case(provider.name, r.model or provider.model, r, "batch")
                     for _, r in part)
        hold = f"lane-{batch_id}-{ids[0]}"
        unpriced = [refusal for refusal in (
            costs.unpriced_refusal(provider.name, model, batch)
            for model in {r.model or provider.model for _, r in part}) if refusal]
        reservation = unpriced[0] if unpriced else costs.reserve(hold, amount, batch)
        if isinstance(reservation, Refusal):
            _pause(batch_id, _for_the_lane(reservation, len(ids)))
            return
        entry = _record_intent(batch_id, group, ids, hold, reservation)
        if entry is None or not _create(batch_id, entry):
            return


def _record_intent(batch_id: str, group: list[bytes], ids: list[int], hold: str,
                   reservation: Reservation | None) -> dict[str, Any] | None:
    """Upload the group's file and commit the intent (nothing is paid for yet). None when it
    will not be created: the batch may no longer run, or the provider refused the file."""
    try:
        file_id = batch_lane.upload(_provider().client, group, f"{batch_id}-{ids[0]}.jsonl")
    except LLMError as exc:
        costs.release(reservation)
        _release(batch_id, None, f"the Batch API refused the upload ({exc})")
        return None
    intent = lane_state.new_intent()
    held = {"key": hold, "usd": reservation.amount_usd} if reservation is not None else None
    with session_scope() as session:
        snapshot = lane_state.record_intent(session, batch_id, intent, file_id, ids, held)
        if snapshot is not None:
            announce(session, snapshot)
    if snapshot is None:  # cancelled or paused meanwhile: the file is never used
        costs.release(reservation)
        return None
    entry = {"intent": intent, "file": file_id}
    log.info("batch %s: %d item(s) to go to a provider batch (intent %s, file %s)", batch_id,
             len(ids), intent, file_id)
    return entry


def _create(batch_id: str, entry: dict[str, Any]) -> bool:
    """Create the intent's provider batch and adopt it. False when the provider refused it
    (the items went to real time). A provider that did not answer leaves the intent to the
    poller, which looks it up before creating it again."""
    intent = entry["intent"]
    try:
        found = batch_lane.create(_provider().client, entry["file"],
                                  {"trustagency_batch": batch_id, INTENT_KEY: intent})
    except LLMError as exc:
        if exc.retryable:
            log.warning("batch %s: creating the provider batch of intent %s failed (%s); the "
                        "poller looks it up and creates it if needed", batch_id, intent, exc)
            return True
        _release(batch_id, intent, f"the Batch API refused the submission ({exc})")
        return False
    _adopt(batch_id, intent, found)
    return True


def _adopt(batch_id: str, intent: str, found: BatchState) -> None:
    with session_scope() as session:
        adopted = lane_state.adopt(session, batch_id, intent, found)
        if adopted:
            announce(session, state.refresh_batch(session, batch_id))
    if adopted:
        log.info("batch %s: provider batch %s created for intent %s", batch_id, found.id,
                 intent)
        return
    # The intent was released or took another provider batch meanwhile: this one holds no
    # item, so it must not run (and be paid for).
    log.warning("batch %s: provider batch %s is not intent %s's: cancelling it", batch_id,
                found.id, intent)
    try:
        batch_lane.cancel(_provider().client, found.id)
    except LLMError as exc:
        log.error("batch %s: could not cancel stray provider batch %s (%s): cancel it by hand",
                  batch_id, found.id, exc)


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
        state.pause_batch(session, batch, refusal)
        announce(session, state.refresh_batch(session, batch_id, batch))
    log.warning("batch %s paused before its Batch API submission: %s", batch_id, refusal.reason)


def _release(batch_id: str, intent: str | None, why: str) -> None:
    """No provider batch for this intent (or none recorded yet): its items and the batch's
    unsent ones are written in real time from now on (app.batches.state.run_in_realtime), the
    batch's note says why; a batch being cancelled ends them cancelled instead."""
    log.warning("batch %s: %s; its items go to real time unless it is being cancelled",
                batch_id, why)
    with session_scope() as session:
        snapshot, entry = lane_state.release_intent(
            session, batch_id, intent, f"{why}; the remaining items were written in real time")
        if snapshot is not None:
            work.arrived(session)  # its items are in its backlog, like any batch's
            announce(session, snapshot)
    if entry is not None and (hold := entry.get("hold")):
        costs.release(Reservation(hold["key"], float(hold["usd"]), "", "", batch_id))


# --- 2. poll ---------------------------------------------------------------------------------


def poll(batch_id: str | None = None) -> dict[str, Any]:
    """Poll every provider batch (or intent) that still holds items (or those of `batch_id`)."""
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
        cancel = batch.cancel_requested
        entry = lane_state.entry_of(batch, provider_batch_id) or {"id": provider_batch_id}
    if entry.get("status") == CREATING:
        _reconcile(batch_id, entry, cancel)
        return False
    if cancel and not entry.get("cancel_sent"):
        found = batch_lane.cancel(client, provider_batch_id)
        log.info("batch %s: provider batch %s cancelled (%s)", batch_id, provider_batch_id,
                 found.status)
    else:
        found = batch_lane.poll(client, provider_batch_id)
    with session_scope() as session:
        batch = lane_state.save_entry(session, batch_id, {
            "id": found.id, "status": found.status, "total": found.total,
            "completed": found.completed, "failed": found.failed,
            "cancel_sent": bool(cancel or entry.get("cancel_sent")),
            **({"errors": list(found.errors)[:20]} if found.errors else {})})
        announce(session, answer.progress(session, batch))
    if not found.done:
        return False
    results.store(batch_id, provider_batch_id, found, entry)
    return True


def _reconcile(batch_id: str, entry: dict[str, Any], cancel: bool) -> None:
    """An intent still "creating": adopt its provider batch if the provider has it, or create
    it now (a batch being cancelled ends its items cancelled instead)."""
    intent, age = entry["intent"], time.time() - float(entry["created"])
    if age < intent_grace():
        return  # its submitter may still be waiting for the provider's answer
    found = batch_lane.find(_provider().client, INTENT_KEY, intent,
                            input_file_id=entry["file"], since=float(entry["created"]))
    if found is not None:
        log.warning("batch %s: intent %s was left creating %.0f s ago; adopting provider "
                    "batch %s, found by its metadata", batch_id, intent, age, found.id)
        _adopt(batch_id, intent, found)
    elif cancel:
        _release(batch_id, intent, "cancelled before its provider batch was created")
    else:
        log.warning("batch %s: intent %s was left creating %.0f s ago and the provider has "
                    "no batch for it; creating it now", batch_id, intent, age)
        _create(batch_id, entry)

