"""The Batch API lane's item transitions, in this process against the fake server's /v1/batches
and the real database: the intent committed before the provider batch is created, a crash in
between reconciled, and each line on the real-time answer path (no workers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.articles.models import Article
from app.batches import service, state
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.provider_lane import lane, lane_state
from app.batches.spend import budget
from app.core.db import session_scope
from app.core.redis import get_redis
from app.llm import batch_lane
from app.llm.base import PermanentError, TransientError
from tests.support.fake_batches import BatchBehavior
from tests.support.stack import use_settings, wait_for

INSTANT = BatchBehavior(validating=0, in_progress=0, finalizing=0)


@pytest.fixture
def provider(db: str, fake_llm: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """This process's provider is the fake OpenAI-compatible server (Batch API included)."""
    for key, value in {"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "sk-test",
                       "OPENAI_MODEL": "gpt-4o-mini", "BUDGET_DAILY_USD": "100"}.items():
        monkeypatch.setenv(key, value)
    use_settings()
    fake_llm.batches.behavior = INSTANT
    yield fake_llm
    monkeypatch.undo()
    use_settings()


def _batch(titles: list[str]) -> str:
    with session_scope() as session:
        batch = service.create_batch(session, titles, "guide", language="en", mode="batch")
        batch_id = batch.id
        state.start_batch(session, batch_id)
        return batch_id


def _items(batch_id: str) -> list[GenerationItem]:
    with session_scope() as session:
        items = list(session.scalars(select(GenerationItem).where(
            GenerationItem.task_id == batch_id).order_by(GenerationItem.index)))
        session.expunge_all()
        return items


def _batch_row(batch_id: str) -> AIGenerationTask:
    with session_scope() as session:
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        session.expunge(batch)
        return batch


def _entries(batch_id: str) -> list[dict[str, Any]]:
    return lane_state.entries(_batch_row(batch_id))


def _age_intents(batch_id: str, seconds: float) -> None:
    """As if the intents were committed `seconds` ago (past the poller's grace)."""
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        batch.extra = {**batch.extra, "provider_batches": [
            {**e, "created": e["created"] - seconds} if "created" in e else e
            for e in lane_state.entries(batch)]}


def _settle(batch_id: str) -> AIGenerationTask:
    def ended() -> AIGenerationTask | None:
        lane.poll(batch_id)
        batch = _batch_row(batch_id)
        return batch if all(e.get("settled") for e in lane_state.entries(batch)) else None

    return wait_for(ended, timeout=20, interval=0.05, message="the provider batch read")


def _articles(batch_id: str) -> list[Article]:
    with session_scope() as session:
        rows = list(session.scalars(select(Article).where(Article.task_id == batch_id)))
        session.expunge_all()
        return rows


def _daily_spend() -> float:
    """Today's budget counter: spend and reservations in flight (nano-dollars, rounded)."""
    return budget.spent(get_redis()).today_usd


def test_submit_commits_the_intent_then_creates_and_adopts_the_provider_batch(provider,
                                                                               monkeypatch):
    batch_id = _batch(["Index funds", "Bond ladders"])
    seen: list[list[GenerationItem]] = []
    create = batch_lane.create

    def create_after_looking(*args: Any, **kwargs: Any) -> Any:
        seen.append(_items(batch_id))  # what is committed when the provider is asked
        return create(*args, **kwargs)

    monkeypatch.setattr(batch_lane, "create", create_after_looking)
    lane.submit(batch_id)

    [before] = seen
    [intent] = {i.provider_batch_id for i in before}
    assert intent.startswith("intent-")
    assert all((i.status, i.worker, i.attempts) == ("processing", f"batch-api:{intent}", 0)
               for i in before)
    [provider_batch] = provider.batches.batches.values()
    assert provider_batch.metadata["trustagency_intent"] == intent
    assert provider_batch.input_file_id == provider.batches.uploads[0].id
    after = _items(batch_id)
    assert all((i.status, i.provider_batch_id, i.attempts) == (
        "processing", provider_batch.id, 1) for i in after)
    [entry] = _entries(batch_id)
    assert (entry["id"], entry["intent"], entry["status"]) == (
        provider_batch.id, intent, "validating")
    assert entry["hold"]["usd"] > 0
    assert _daily_spend() == pytest.approx(entry["hold"]["usd"], abs=2e-9)

    batch = _settle(batch_id)
    assert (batch.status, batch.completed) == ("completed", 2)
    assert batch.cost_usd == pytest.approx(sum(a.cost_usd for a in _articles(batch_id)))
    assert _daily_spend() == pytest.approx(batch.cost_usd, abs=2e-9)  # the hold settled to the cost


def test_a_crash_after_create_is_adopted_by_the_poller_once(provider, monkeypatch):
    batch_id = _batch(["Index funds", "Bond ladders", "Money markets"])
    create = batch_lane.create

    class Crash(BaseException):
        pass

    def create_then_crash(*args: Any, **kwargs: Any) -> Any:
        create(*args, **kwargs)
        raise Crash  # the process dies before the lane records the provider batch's id

    monkeypatch.setattr(batch_lane, "create", create_then_crash)
    with pytest.raises(Crash):
        lane.submit(batch_id)
    monkeypatch.setattr(batch_lane, "create", create)
    [provider_batch] = provider.batches.batches.values()
    [entry] = _entries(batch_id)
    assert (entry["status"], entry["id"]) == ("creating", entry["intent"])
    reserved = _daily_spend()

    lane.poll(batch_id)  # within the grace: its submitter may still be waiting
    assert _entries(batch_id)[0]["status"] == "creating"
    lane.submit(batch_id)  # a second launch finds nothing unsent
    assert len(provider.batches.batches) == 1 and len(provider.batches.uploads) == 1

    _age_intents(batch_id, lane.intent_grace() + 1)
    batch = _settle(batch_id)
    assert len(provider.batches.batches) == 1  # adopted, not created again
    assert _entries(batch_id)[0]["id"] == provider_batch.id
    assert (batch.status, batch.completed) == ("completed", 3)
    assert all((i.attempts, i.provider_batch_id) == (1, provider_batch.id)
               for i in _items(batch_id))
    articles = _articles(batch_id)
    assert sorted(a.title for a in articles) == ["Bond ladders", "Index funds", "Money markets"]
    assert batch.cost_usd == pytest.approx(sum(a.cost_usd for a in articles))
    assert reserved > batch.cost_usd and _daily_spend() == pytest.approx(batch.cost_usd, abs=2e-9)


def test_an_intent_the_provider_never_saw_is_created_by_the_poller(provider, monkeypatch):
    batch_id = _batch(["Index funds", "Bond ladders"])

    def create_times_out(*args: Any, **kwargs: Any) -> Any:
        raise TransientError("timeout: the provider did not answer")

    monkeypatch.setattr(batch_lane, "create", create_times_out)
    lane.submit(batch_id)
    monkeypatch.undo()
    assert provider.batches.batches == {}
    [entry] = _entries(batch_id)
    assert entry["status"] == "creating"
    assert all(i.provider_batch_id == entry["intent"] and i.attempts == 0
               for i in _items(batch_id))

    _age_intents(batch_id, lane.intent_grace() + 1)
    lane.poll(batch_id)
    [provider_batch] = provider.batches.batches.values()
    assert provider_batch.metadata["trustagency_intent"] == entry["intent"]
    assert provider_batch.input_file_id == entry["file"]
    batch = _settle(batch_id)
    assert (batch.status, batch.completed) == ("completed", 2)
    assert len(provider.batches.batches) == 1


def test_a_refused_submission_sends_the_items_to_real_time_with_a_note(provider, monkeypatch):
    batch_id = _batch(["Index funds", "Bond ladders"])

    def create_refused(*args: Any, **kwargs: Any) -> Any:
        raise PermanentError("400: this model has no Batch API (fake)")

    monkeypatch.setattr(batch_lane, "create", create_refused)
    lane.submit(batch_id)
    batch = _batch_row(batch_id)
    assert batch.mode == "realtime" and "the Batch API refused the submission" in (
        batch.extra["note"])
    assert _entries(batch_id) == []
    assert all((i.status, i.provider_batch_id, i.worker, i.attempts) == (
        "pending", None, None, 0) for i in _items(batch_id))
    assert _daily_spend() == 0  # the hold given back


def test_an_intent_of_a_cancelled_batch_that_was_never_created_ends_cancelled(provider,
                                                                             monkeypatch):
    batch_id = _batch(["Index funds", "Bond ladders"])
    monkeypatch.setattr(batch_lane, "create", lambda *a, **k: (_ for _ in ()).throw(
        TransientError("timeout")))
    lane.submit(batch_id)
    monkeypatch.undo()
    with session_scope() as session:
        state.cancel_batch(session, state.lock_batch(session, batch_id))
    _age_intents(batch_id, lane.intent_grace() + 1)
    lane.poll(batch_id)
    assert provider.batches.batches == {}
    batch = _batch_row(batch_id)
    assert (batch.status, batch.cancelled, batch.mode) == ("cancelled", 2, "batch")
    assert _daily_spend() == 0


def test_a_provider_batch_that_is_not_the_intents_is_cancelled(provider):
    batch_id = _batch(["Index funds"])
    lane.submit(batch_id)
    [entry] = _entries(batch_id)
    [adopted] = provider.batches.batches
    provider.batches.behavior = BatchBehavior(in_progress=30)
    client = lane._provider().client
    stray = batch_lane.create(client, entry["file"], {"trustagency_intent": entry["intent"]})
    lane._adopt(batch_id, entry["intent"], stray)  # a late submitter's second batch
    assert provider.batches.get(stray.id).status in ("cancelling", "cancelled")
    assert _entries(batch_id)[0]["id"] == adopted
    assert {i.provider_batch_id for i in _items(batch_id)} == {adopted}


def test_a_refusal_and_a_short_answer_take_the_real_time_path(provider):
    provider.batches.answer("Refused fund", "I'm sorry, I can't help with that.")
    provider.batches.answer("Short fund", "# Short fund\n\nToo short.")
    batch_id = _batch(["Refused fund", "Short fund", "Good fund"])
    lane.submit(batch_id)
    batch = _settle(batch_id)
    items = {i.title: i for i in _items(batch_id)}
    for title in ("Refused fund", "Short fund"):
        item = items[title]
        assert (item.status, item.regenerations, item.attempts) == ("retrying", 1, 1), title
        assert "rejected by the site's quality checks" in item.feedback
        assert item.next_attempt_at is not None and item.enqueued_at is None
    assert items["Good fund"].status == "completed"
    assert (batch.completed, batch.regenerated, batch.status) == (1, 2, "processing")
    # The rejected drafts were paid for at the batch price: in the batch's cost.
    [good] = _articles(batch_id)
    assert batch.cost_usd > good.cost_usd and good.lane == "batch"


def test_with_no_regeneration_left_a_rejected_line_is_kept_for_review(provider, monkeypatch):
    monkeypatch.setenv("QUALITY_MAX_REGENERATIONS", "0")
    use_settings()
    provider.batches.answer("Refused fund", "I'm sorry, I can't help with that.")
    batch_id = _batch(["Refused fund"])
    lane.submit(batch_id)
    batch = _settle(batch_id)
    assert (batch.status, batch.completed, batch.needs_review) == ("completed", 1, 1)
    [article] = _articles(batch_id)
    assert article.status == "needs_review" and article.lane == "batch"
    assert "refusal" in {f["name"] for f in article.quality_flags}


def test_a_line_cut_at_the_token_limit_is_kept_for_review_as_in_real_time(provider):
    provider.batches.answer("Long fund", "# Long fund\n\nIt goes on and on", "length")
    batch_id = _batch(["Long fund"])
    lane.submit(batch_id)
    batch = _settle(batch_id)
    assert (batch.status, batch.needs_review) == ("completed", 1)
    [article] = _articles(batch_id)
    assert "truncated" in {f["name"] for f in article.quality_flags}
