"""One path for a generated answer, whatever the lane: price, judge, keep, progress (no workers,
the real database)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from app.articles.models import Article
from app.batches import service, state
from app.batches.generation import answer, quality_gate
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.llm import prices
from app.llm.base import Generated
from app.llm.offline import draft

MODEL = "gpt-4o-mini"  # in the price table: batch = half the real-time price
SHORT = "# Index funds\n\nToo short to be an article."
REFUSAL = "I'm sorry, I can't help with that."


def _claimed(titles: list[str]) -> tuple[str, list[GenerationItem]]:
    with session_scope() as session:
        batch = service.create_batch(session, titles, "guide", language="en")
        items = [state.claim_item(session, i.id, "w/1", lease=60) for i in batch.items]
        session.expunge_all()
        return batch.id, [i for i in items if i is not None]


def _answer(item: GenerationItem, batch_id: str, text: str | None, lane: str = "batch",
            finish: str = "stop") -> answer.Answer:
    with session_scope() as session:
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        job = quality_gate.prepare(session, item, batch)
    generated = Generated(content=text if text is not None else draft(job.request),
                          provider="openai", model=MODEL, prompt_tokens=1000,
                          completion_tokens=2000, finish_reason=finish)
    return answer.judge(item, job, generated, lane, answer.price(generated, lane))  # type: ignore[arg-type]


def _keep(batch_id: str, *answers: answer.Answer) -> list[str | None]:
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        statuses = [answer.keep(session, batch, a) for a in answers]
        answer.progress(session, batch)
        return statuses


def _row(model: type, key: object) -> object:
    with session_scope() as session:
        row = session.get(model, key)
        session.expunge_all()
        return row


def _cost_metric(lane: str) -> float:
    return REGISTRY.get_sample_value("trustagency_llm_cost_usd_total",
                                     {"provider": "openai", "model": MODEL, "lane": lane}) or 0.0


def test_an_answer_costs_its_lanes_price_and_is_counted_in_the_metrics():
    generated = Generated(content="x", provider="openai", model=MODEL, prompt_tokens=1000,
                          completion_tokens=2000)
    before = _cost_metric("batch")
    batch_cost = answer.price(generated, "batch")
    realtime_cost = answer.price(generated, "realtime")
    assert realtime_cost == pytest.approx(prices.cost_usd("openai", MODEL, 1000, 2000))
    assert batch_cost == pytest.approx(realtime_cost / 2)  # type: ignore[operator]
    assert _cost_metric("batch") - before == pytest.approx(batch_cost)


def test_a_good_answer_is_stored_as_a_draft_at_its_lanes_cost(db):
    batch_id, [item] = _claimed(["Index funds explained"])
    done = _answer(item, batch_id, None)
    assert not done.rejected
    assert _keep(batch_id, done) == ["completed"]
    batch = _row(AIGenerationTask, batch_id)
    assert (batch.status, batch.completed, batch.progress) == ("completed", 1, 100)
    assert batch.cost_usd == pytest.approx(done.cost_usd)
    with session_scope() as session:
        article = session.query(Article).one()
        assert (article.status, article.lane, article.cost_usd) == (
            "draft", "batch", pytest.approx(done.cost_usd))


def test_a_refusal_is_written_again_with_the_reason_and_its_cost_counted(db):
    batch_id, [item] = _claimed(["Index funds explained"])
    done = _answer(item, batch_id, REFUSAL)
    assert done.rejected
    assert _keep(batch_id, done) == ["retrying"]
    again = _row(GenerationItem, item.id)
    assert (again.status, again.regenerations, again.attempts) == ("retrying", 1, 1)
    assert again.error.startswith("quality: ") and "writing it again" in again.error
    assert "rejected by the site's quality checks" in again.feedback
    batch = _row(AIGenerationTask, batch_id)
    # The rejected draft was paid for: in the batch's cost, with no article.
    assert (batch.status, batch.completed, batch.regenerated) == ("processing", 0, 1)
    assert batch.cost_usd == pytest.approx(done.cost_usd)
    with session_scope() as session:
        assert session.query(Article).count() == 0


def test_a_failed_check_with_its_regenerations_used_up_is_kept_for_review(db):
    batch_id, [item] = _claimed(["Index funds explained"])
    item.regenerations = 1  # QUALITY_MAX_REGENERATIONS (1) used up
    done = _answer(item, batch_id, SHORT)
    assert not done.rejected
    assert _keep(batch_id, done) == ["completed"]
    batch = _row(AIGenerationTask, batch_id)
    assert (batch.status, batch.needs_review) == ("completed", 1)
    with session_scope() as session:
        article = session.query(Article).one()
        assert article.status == "needs_review"
        assert "length" in {f["name"] for f in article.quality_flags or []}


def test_a_rejected_answer_of_a_cancelled_batch_is_kept_for_review_not_written_again(db):
    batch_id, [item] = _claimed(["Index funds explained"])
    done = _answer(item, batch_id, SHORT)
    assert done.rejected
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        state.cancel_batch(session, batch)
    assert _keep(batch_id, done) == ["completed"]
    with session_scope() as session:
        assert session.query(Article).one().status == "needs_review"
    batch = _row(AIGenerationTask, batch_id)
    assert (batch.status, batch.completed) == ("cancelled", 1)


def test_an_answer_whose_claim_was_taken_over_is_dropped(db):
    batch_id, [item] = _claimed(["Index funds explained"])
    done = _answer(item, batch_id, None)
    with session_scope() as session:
        session.get(GenerationItem, item.id).worker = "w/2"  # reclaimed by another worker
    assert _keep(batch_id, done) == [None]
    assert _row(AIGenerationTask, batch_id).cost_usd == 0.0


def test_many_answers_under_one_lock_are_counted_once(db):
    batch_id, items = _claimed(["One fund", "Two funds", "Three funds"])
    answers = [_answer(items[0], batch_id, None), _answer(items[1], batch_id, REFUSAL),
               _answer(items[2], batch_id, None)]
    assert _keep(batch_id, *answers) == ["completed", "retrying", "completed"]
    batch = _row(AIGenerationTask, batch_id)
    assert (batch.completed, batch.regenerated, batch.progress) == (2, 1, 66)
    assert batch.cost_usd == pytest.approx(sum(a.cost_usd for a in answers))


def test_lines_a_provider_answered_move_the_progress_before_they_are_read(db):
    batch_id, items = _claimed([f"Fund {i}" for i in range(4)])
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        batch.extra = {"provider_batches": [{"id": "batch_1", "completed": 3}]}
        assert answer.progress(session, batch).progress == 75
        batch.extra = {"provider_batches": [{"id": "batch_1", "completed": 9}]}
        assert answer.progress(session, batch).progress == 100  # never past the items held
    _keep(batch_id, _answer(items[0], batch_id, None))
    # One item read and ended: counted once (not as answered and as completed).
    assert _row(AIGenerationTask, batch_id).progress == 100
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        batch.extra = {"provider_batches": [{"id": "batch_1", "completed": 3, "settled": True}]}
        assert answer.progress(session, batch).progress == 100  # never backwards
