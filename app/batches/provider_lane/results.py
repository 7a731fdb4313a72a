"""Reading an ended provider batch (app.batches.provider_lane.lane): its lines become answers on
the real-time path, or errors handed back to the real-time lane.

Each answered line is priced at the batch price and judged by the quality checks like a
streamed answer (app.batches.generation.answer), then kept, kept for review, or written again in
real time. Lines are judged, then ended `CHUNK` at a time in one transaction each, so a big
provider batch does not hold the batch row for long and each chunk's duplicate checks see the
articles of the chunks before it.
"""

from __future__ import annotations

import logging
from typing import Any

from app.batches import repository, work
from app.batches.generation import answer, quality_gate
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import announce
from app.batches.provider_lane import lane_state
from app.batches.provider_lane.lane_state import LaneOutcome
from app.batches.spend import costs
from app.batches.spend.budget import Reservation
from app.config import get_settings
from app.core.db import session_scope
from app.llm import batch_lane, get_provider
from app.llm.base import Generated
from app.llm.batch_lane import BatchState, LineResult
from app.llm.openai_provider import STOP_REASONS, OpenAIProvider

log = logging.getLogger(__name__)

CHUNK = 500  # lines ended per transaction when a provider batch is read


def store(batch_id: str, provider_batch_id: str, found: BatchState,
          entry: dict[str, Any]) -> None:
    """End every item the provider batch still holds from its output and error files, settle
    its budget hold with what its lines cost, and mark it settled."""
    provider = get_provider()
    assert isinstance(provider, OpenAIProvider)
    max_retries = get_settings().llm_max_retries
    with session_scope(read_only=True) as session:
        items = repository.lane_items(session, provider_batch_id)
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        jobs = {str(item.id): quality_gate.prepare(session, item, batch) for item in items}
    if found.errors:
        log.warning("provider batch %s failed: %s", provider_batch_id, "; ".join(found.errors))
    lines = (batch_lane.read_results(provider.client, found, [str(i.id) for i in items])
             if items else [])
    by_id = {str(item.id): item for item in items}
    spent = 0.0
    for start in range(0, len(lines), CHUNK):
        outcomes = [_outcome(by_id[line.custom_id], jobs[line.custom_id], line, found,
                             provider, max_retries)
                    for line in lines[start:start + CHUNK]]
        spent += sum(o.answer.cost_usd or 0.0 for o in outcomes if o.answer is not None)
        with session_scope() as session:
            snapshot, retried = lane_state.end_lane_items(session, batch_id, outcomes)
            if retried:  # back to the real-time lane: in the backlog, fed as slots free up
                work.arrived(session)
            if snapshot is not None:
                announce(session, snapshot)
    if hold := entry.get("hold"):
        costs.settle(Reservation(hold["key"], float(hold["usd"]), "", "", batch_id), spent)
    with session_scope() as session:
        lane_state.save_entry(session, batch_id, {"id": provider_batch_id, "settled": True})
    log.info("batch %s: provider batch %s %s, %d line(s) read ($%.6f)", batch_id,
             provider_batch_id, found.status, len(lines), spent)


def _outcome(item: GenerationItem, job: quality_gate.Job, line: LineResult, found: BatchState,
             provider: OpenAIProvider, max_retries: int) -> LaneOutcome:
    finish = line.finish_reason or "stop"
    # A whole answer, or one cut at the token limit (kept for review, flagged truncated, as a
    # real-time answer cut there is): the real-time path.
    if line.ok and (finish in STOP_REASONS or finish == "length"):
        generated = Generated(
            content=(line.content or "").strip(), provider=provider.name,
            model=line.model or provider.model, prompt_tokens=line.prompt_tokens,
            completion_tokens=line.completion_tokens, finish_reason=finish)
        cost = answer.price(generated, "batch")
        return LaneOutcome(item, answer=answer.judge(item, job, generated, "batch", cost))
    if line.ok:  # content_filter, tool calls ...: not an article
        error, retryable = f"the answer ended with finish_reason {finish!r}", True
    else:
        error, retryable = str(line.error), line.retryable
    retry = retryable and item.attempts <= max_retries
    where = f"Batch API ({found.id} {found.status})"
    return LaneOutcome(item, error=f"{where}: {error}" + ("; sent to the real-time lane"
                                                          if retry else ""), retry=retry)
