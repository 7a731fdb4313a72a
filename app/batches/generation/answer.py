"""One generated answer, whatever lane wrote it: the same steps for a streamed real-time answer
(app.batches.generation.runner) and for a line of a provider batch
(app.batches.provider_lane.lane), so the same rules hold for both.

    cost = answer.price(generated, "batch")          # at the lane's price, counted in /metrics
    done = answer.judge(item, job, generated, "batch", cost)   # the quality checks
    # in one transaction, the batch row locked (many answers may share it):
    status = answer.keep(session, batch, done)       # stored, kept for review, or written again
    snapshot = answer.progress(session, batch)       # the batch recounted once

An answer that fails a check is written again in real time with the checks' reasons in its
prompt (the item back in its batch's backlog, as `retrying`, one regeneration counted), up to
QUALITY_MAX_REGENERATIONS; after that, or for an answer cut at the token limit, it is stored
`needs_review` with its flags. A rejected draft's tokens and cost count in the batch's totals.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.batches import state
from app.batches.enums import ItemStatus
from app.batches.generation import quality_gate
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot
from app.batches.spend import costs
from app.llm.base import Generated
from app.llm.instrumentation import count_cost, count_tokens


@dataclass(frozen=True)
class Answer:
    """A generated answer, priced and judged: what `keep` needs."""

    item: GenerationItem
    job: quality_gate.Job
    generated: Generated
    lane: costs.Lane
    cost_usd: float | None  # None: the model has no known price
    verdict: quality_gate.Verdict

    @property
    def rejected(self) -> bool:
        return self.verdict.quality is None


def price(generated: Generated, lane: costs.Lane) -> float | None:
    """What the answer cost at its lane's price, counted in /metrics. A real-time call's tokens
    were counted by the instrumented provider as it returned; a provider batch's lines are not
    calls of this process, so their tokens are counted here."""
    cost = costs.article_cost(generated, lane)
    count_cost(generated.provider, generated.model, lane, cost)
    if lane == "batch":
        count_tokens(generated.provider, generated.model, generated.prompt_tokens,
                     generated.completion_tokens)
    return cost


def judge(item: GenerationItem, job: quality_gate.Job, generated: Generated, lane: costs.Lane,
          cost_usd: float | None) -> Answer:
    """Run the quality checks (they read the category's articles: outside any write
    transaction)."""
    return Answer(item, job, generated, lane, cost_usd, quality_gate.judge(item, job, generated))


def keep(session: Session, batch: AIGenerationTask, answer: Answer) -> str | None:
    """End the answer's item (call with `batch`'s row locked; recount with `progress` after):
    completed with its article, or `retrying` to be written again in real time. Returns that
    status, or None when the item's claim is no longer current (another worker or the reaper
    took it). A batch being cancelled spends nothing more: a rejected answer is kept for review.
    """
    verdict, item = answer.verdict, answer.item
    quality = verdict.quality
    if quality is None and batch.cancel_requested:
        quality = verdict.review
    if quality is None:
        if not state.regenerate(session, batch, item, verdict.reason, verdict.feedback,
                                answer.generated, answer.cost_usd):
            return None
        return ItemStatus.RETRYING
    if not state.store_article(session, batch, item, answer.job.request.category,
                               answer.generated, answer.cost_usd, answer.lane, quality):
        return None
    return ItemStatus.COMPLETED


def progress(session: Session, batch: AIGenerationTask) -> Snapshot:
    """Recount the batch (its row locked in this transaction) once its answers are kept: counts,
    quality counters, progress (lines a provider answered included) and its next state."""
    return state.refresh_batch(session, batch.id, batch)
