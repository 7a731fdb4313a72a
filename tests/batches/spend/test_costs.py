"""Costs, pauses and resumes on a real database and the test Redis, no workers: the batch's
totals move with each article in one transaction, a refused reservation pauses the batch and
gives the item back without counting an attempt, and only resume (or the window) lifts it."""

from __future__ import annotations

import datetime as dt

import pytest

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.articles.models import Article
from app.batches import repository, resume, service, state
from app.batches.errors import BatchError
from app.batches.generation import runner
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.progress import Snapshot
from app.batches.scheduling import feeder
from app.batches.spend import budget, costs
from app.batches.spend.budget import Refusal, Reservation
from app.core import workers
from app.core.db import session_scope
from app.core.models import utcnow
from app.core.redis import get_redis
from app.llm import prices
from app.llm.base import Generated
from tests.support import faults
from tests.support.fake_openai import Behavior
from tests.support.stack import use_settings

DRAFT = Generated(content="# T\n\nBody", provider="openai", model="gpt-4o-mini",
                  prompt_tokens=1200, completion_tokens=800)
UNPRICED = Generated(content="# T\n\nBody", provider="openai-compatible", model="my-llama-x",
                     prompt_tokens=10, completion_tokens=20)


def _batch(titles: list[str], **kw: object) -> tuple[str, list[int]]:
    with session_scope() as session:
        batch = service.create_batch(session, titles, "guide", **kw)  # type: ignore[arg-type]
        return batch.id, [i.id for i in batch.items]


def _complete(item_id: int, generated: Generated) -> Snapshot:
    with session_scope() as session:
        item = state.claim_item(session, item_id, "w/1", lease=60)
        assert item is not None
        snapshot = state.complete_item(session, item, "guide", generated,
                                       costs.article_cost(generated))
        assert snapshot is not None
        return snapshot


def _batch_row(batch_id: str) -> AIGenerationTask:
    with session_scope() as session:
        row = session.get(AIGenerationTask, batch_id)
        assert row is not None
        return row


def _refusal(resume_at: dt.datetime | None, amount: float = 0.0001) -> Refusal:
    return Refusal(cap="daily", limit_usd=5.0, spent_usd=4.9, amount_usd=amount,
                   reason="daily budget of $5.00 reached; resumes at 00:00 UTC",
                   resume_at=resume_at)


def test_each_article_adds_its_cost_and_tokens_to_the_batch(db):
    batch_id, ids = _batch(["One", "Two", "Three", "Four"])
    one = _complete(ids[0], DRAFT)
    expected = 1200 * 0.15 / 1e6 + 800 * 0.6 / 1e6  # gpt-4o-mini in the genai-prices table
    assert one.cost_usd == pytest.approx(expected)
    assert (one.prompt_tokens, one.completion_tokens, one.cost_unknown) == (1200, 800, 0)
    assert one.cost_remaining_usd == pytest.approx(3 * expected)  # its own average, 3 left
    two = _complete(ids[1], DRAFT)
    assert two.cost_usd == pytest.approx(2 * expected)
    with session_scope() as session:
        article = session.query(Article).filter_by(item_id=ids[0]).one()
        item = session.get(GenerationItem, ids[0])
        assert article.cost_usd == pytest.approx(expected) and article.lane == "realtime"
        assert item is not None and item.cost_usd == pytest.approx(expected)
    # A late runner that lost its claim adds nothing.
    with session_scope() as session:
        stale = session.get(GenerationItem, ids[0])
        assert stale is not None
        assert state.complete_item(session, stale, "guide", DRAFT, 1.0) is None
    assert _batch_row(batch_id).cost_usd == pytest.approx(2 * expected)


def test_a_model_with_no_price_gives_a_null_cost_with_a_note(db, caplog):
    batch_id, ids = _batch(["One", "Two"])
    assert costs.article_cost(UNPRICED) is None
    snapshot = _complete(ids[0], UNPRICED)
    assert snapshot.cost_usd is None and snapshot.cost_unknown == 1
    assert snapshot.cost_note is not None and "LLM_PRICES" in snapshot.cost_note
    assert snapshot.cost_remaining_usd is None and snapshot.prompt_tokens == 10
    with session_scope() as session:
        assert session.query(Article).filter_by(item_id=ids[0]).one().cost_usd is None


def test_a_refused_reservation_pauses_the_batch_and_gives_the_item_back(db):
    batch_id, (first, second, third) = _batch(["One", "Two", "Three"])
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    with session_scope() as session:
        running = state.claim_item(session, second, "w/2", lease=60)
        refused = state.claim_item(session, first, "w/1", lease=60)
        assert running is not None and refused is not None and refused.attempts == 1
        snapshot = state.pause_item(session, refused, _refusal(midnight))
        assert snapshot is not None and snapshot.status == "paused"
        assert snapshot.paused_reason == "daily budget of $5.00 reached; resumes at 00:00 UTC"
        assert snapshot.resume_at == midnight.isoformat().replace("+00:00", "Z")
    with session_scope() as session:
        row = session.get(GenerationItem, first)
        assert row is not None and (row.status, row.attempts, row.enqueued_at) == (
            "pending", 0, None)
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None and not state.is_dispatchable(batch)
        # No claim while paused; the running item ends and the batch stays paused.
        assert state.claim_item(session, third, "w/3", lease=60) is None
        assert state.complete_item(session, running, "guide", DRAFT, 0.01) is not None
    assert _batch_row(batch_id).status == "paused"
    with session_scope(read_only=True) as session:
        assert repository.paused_due(session, utcnow()) == []
        assert repository.paused_due(session, midnight) == [batch_id]

    # An editor's resume puts the waiting items back in the backlog and the feeder sends them
    # to the one live worker (4 slots); claims work again.
    workers.beat(get_redis(), workers.started_now("w", concurrency=4, pool="threads", pid=1))
    feeder.forget_capacity()
    with session_scope() as session:
        service.resume(session, batch_id)
    assert faults.queue_length() == 2
    row = _batch_row(batch_id)
    assert (row.status, row.paused_reason, row.resume_at) == ("processing", None, None)
    with session_scope() as session:
        assert state.claim_item(session, third, "w/3", lease=60) is not None
        with pytest.raises(BatchError) as not_paused:
            service.resume(session, batch_id)
    assert not_paused.value.status_code == 409 and "not paused" in not_paused.value.message


def test_resume_due_resumes_only_batches_whose_window_rolled_over(db):
    due_id, (due_item,) = _batch(["Due"])
    later_id, (later_item,) = _batch(["Later"])
    capped_id, (capped_item,) = _batch(["Capped"], max_cost_usd=1.0)
    now = utcnow()
    for item_id, at in ((due_item, now - dt.timedelta(seconds=1)),
                        (later_item, now + dt.timedelta(hours=3)), (capped_item, None)):
        with session_scope() as session:
            item = state.claim_item(session, item_id, "w/1", lease=60)
            assert item is not None and state.pause_item(session, item, _refusal(at))
    assert resume.resume_due() == [due_id]
    assert [_batch_row(b).status for b in (due_id, later_id, capped_id)] == [
        "processing", "paused", "paused"]
    assert resume.resume_due() == []


def test_resume_is_refused_while_the_batch_cap_is_still_spent(db):
    batch_id, (first, second) = _batch(["One", "Two"], max_cost_usd=0.001)
    _complete(first, DRAFT)  # $0.00066: the next one, at that average, would pass $0.001
    with session_scope() as session:
        item = state.claim_item(session, second, "w/1", lease=60)
        assert item is not None and state.pause_item(session, item, _refusal(None))
    with session_scope() as session, pytest.raises(BatchError) as still:
        service.resume(session, batch_id)
    assert still.value.status_code == 409 and "raise max_cost_usd" in still.value.message
    with session_scope() as session:  # the refused call's worst case must fit too
        service.update(session, batch_id, {"max_cost_usd": 0.002})
        batch = state.lock_batch(session, batch_id)
        assert batch is not None and batch.extra is not None
        batch.extra = {**batch.extra, costs.PAUSED_CALL: 0.005}
    with session_scope() as session, pytest.raises(BatchError):
        service.resume(session, batch_id)
    with session_scope() as session:
        service.update(session, batch_id, {"max_cost_usd": 0.01, "priority": "high"})
    with session_scope() as session:
        assert service.resume(session, batch_id).status == "processing"
    row = _batch_row(batch_id)
    assert (row.max_cost_usd, row.priority) == (0.01, "high")


def test_resume_is_refused_while_the_daily_budget_is_spent(db):
    use_settings(budget_daily_usd="0.001")
    try:
        batch_id, (first, second) = _batch(["One", "Two"])
        _complete(first, DRAFT)
        held = budget.reserve(get_redis(), "spent", 0.0009, None, None)
        assert not isinstance(held, Refusal)
        with session_scope() as session:
            item = state.claim_item(session, second, "w/1", lease=60)
            assert item is not None and state.pause_item(session, item, _refusal(None))
        with session_scope() as session, pytest.raises(BatchError) as still:
            service.resume(session, batch_id)
        assert "BUDGET_DAILY_USD of $0.001 does not fit the next call" in still.value.message
    finally:
        use_settings(budget_daily_usd=None)


def test_cancel_of_a_paused_batch_ends_it_cancelled(db):
    batch_id, (first, second) = _batch(["One", "Two"])
    with session_scope() as session:
        item = state.claim_item(session, first, "w/1", lease=60)
        assert item is not None and state.pause_item(session, item, _refusal(None))
    with session_scope() as session:
        service.cancel(session, batch_id)
    row = _batch_row(batch_id)
    assert (row.status, row.cancelled, row.paused_reason) == ("cancelled", 2, None)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("mode", "later", "must be one of realtime, batch"),
    ("max_cost_usd", -1, "must be above 0"),
    ("max_cost_usd", float("inf"), "must be above 0"),
    ("max_cost_usd", "5", "must be a number"),
])
def test_mode_and_cap_are_validated_naming_the_field(db, field, value, message):
    with session_scope() as session, pytest.raises(BatchError) as bad:
        service.submit(session, ["A title"], "guide", **{field: value})  # type: ignore[arg-type]
    assert (bad.value.field, bad.value.status_code) == (field, 422)
    assert message in bad.value.message
    assert faults.batch_count() == 0


def test_patch_refuses_a_finished_batch_and_a_bad_priority(db):
    batch_id, (only,) = _batch(["One"])
    with session_scope() as session, pytest.raises(BatchError) as bad:
        service.update(session, batch_id, {"priority": "urgent"})
    assert bad.value.field == "priority"
    _complete(only, DRAFT)
    with session_scope() as session, pytest.raises(BatchError) as ended:
        service.update(session, batch_id, {"max_cost_usd": 5})
    assert ended.value.status_code == 409


def test_a_draft_a_quality_check_rejected_counts_in_the_batch_cost_and_budget(db, fake_llm):
    # The runner through the SDK against the fake server, in this process: the first answer
    # is too short for the guide profile (rejected, written again), the second one is kept.
    use_settings(openai_base_url=fake_llm.base_url, openai_api_key="sk-test",
                 openai_model="test-model", budget_daily_usd="100",
                 llm_prices='{"test-model": {"input": 100, "output": 1000}}')
    prices.clear_cache()
    try:
        fake_llm.add_rule("Rejected at first", [Behavior("text", text="# Rejected at first\n\n"
                                                         "Too short to keep.")])
        batch_id, (item_id,) = _batch(["Rejected at first"], language="en", max_cost_usd=50)
        assert runner.run_item(item_id, worker="w/1").status == "retrying"
        rejected = _batch_row(batch_id)
        assert rejected.regenerated == 1 and rejected.completed == 0
        assert rejected.prompt_tokens > 0 and rejected.completion_tokens > 0
        draft_cost = (rejected.prompt_tokens * 100 + rejected.completion_tokens * 1000) / 1e6
        assert rejected.cost_usd == pytest.approx(draft_cost)
        # What the budget counters were settled to is what the batch says it spent.
        assert budget.batch_spent(get_redis(), batch_id) == pytest.approx(rejected.cost_usd)

        assert runner.run_item(item_id, worker="w/1").status == "completed"
        batch = _batch_row(batch_id)
        with session_scope() as session:
            article = session.query(Article).filter_by(item_id=item_id).one()
            assert article.cost_usd is not None
            article_cost = article.cost_usd
        assert batch.completed == 1 and fake_llm.count() == 2
        assert batch.cost_usd == pytest.approx(draft_cost + article_cost)
        assert batch.prompt_tokens > rejected.prompt_tokens
        assert budget.batch_spent(get_redis(), batch_id) == pytest.approx(batch.cost_usd)
        assert budget.spent(get_redis()).today_usd == pytest.approx(batch.cost_usd)
        assert costs.summary(batch).cost_usd == pytest.approx(batch.cost_usd)
        assert list(get_redis().scan_iter(f"{budget.HOLD_PREFIX}*")) == []
    finally:
        use_settings(openai_base_url="", openai_api_key="", openai_model=None,
                     budget_daily_usd=None, llm_prices=None)
        prices.clear_cache()


def test_a_call_that_cost_more_than_it_reserved_is_settled_and_logged(caplog):
    held = budget.reserve(get_redis(), "item-1:1:w/1", 0.5, "over", None)
    assert isinstance(held, Reservation)
    costs.settle(held, 0.75)  # a provider that wrote past max_tokens
    assert budget.batch_spent(get_redis(), "over") == pytest.approx(0.75)
    assert "cost $0.75, more than the $0.50 reserved" in caplog.text
