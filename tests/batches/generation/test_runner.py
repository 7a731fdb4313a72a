"""One real-time attempt (`runner.run_item`) in this process: the real database and Redis, the
fake OpenAI-compatible server through the openai SDK, no worker. What the item, its batch and its
article look like after each way an attempt can end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import app.celery_app  # noqa: F401 - binds the Celery app the progress mirror writes through
from app.articles.models import Article
from app.batches import service
from app.batches.generation import runner
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from tests.support.fake_openai import Behavior
from tests.support.stack import use_settings


@pytest.fixture
def provider(db: str, fake_llm: Any) -> Iterator[Any]:
    """This process's provider is the fake server (no SDK retries, quick backoff)."""
    use_settings(llm_provider="openai", openai_base_url=fake_llm.base_url,
                 openai_api_key="sk-test-secret-key-123", openai_model="test-model",
                 llm_retry_backoff="0.5", quality_max_regenerations="1")
    yield fake_llm
    use_settings(llm_provider=None, openai_base_url=None, openai_api_key=None,
                 openai_model=None, llm_retry_backoff=None, quality_max_regenerations=None,
                 database_url=db)


def _item(title: str) -> int:
    with session_scope() as session:
        batch = service.create_batch(session, [title], "guide", language="en")
        return batch.items[0].id


def _state(item_id: int) -> tuple[GenerationItem, AIGenerationTask, list[Article]]:
    with session_scope(read_only=True) as session:
        item = session.get(GenerationItem, item_id)
        assert item is not None
        batch = session.get(AIGenerationTask, item.task_id)
        assert batch is not None
        articles = list(session.query(Article).filter(Article.item_id == item_id))
        session.expunge_all()
        return item, batch, articles


def test_a_whole_answer_becomes_the_items_article_and_ends_the_batch(provider):
    item_id = _item("How index funds work")
    outcome = runner.run_item(item_id, worker="w/1")
    item, batch, articles = _state(item_id)
    assert outcome.status == "completed"
    assert (item.status, item.attempts, item.error) == ("completed", 1, None)
    assert [a.title for a in articles] == ["How index funds work"]
    assert articles[0].content.startswith("# How index funds work")
    assert (batch.status, batch.completed, batch.progress) == ("completed", 1, 100)
    assert batch.completion_tokens > 0


def test_running_an_item_twice_writes_one_article_and_asks_the_llm_once(provider):
    item_id = _item("Delivered twice")
    assert runner.run_item(item_id, worker="w/1").status == "completed"
    assert runner.run_item(item_id, worker="w/2") == runner.SKIPPED
    assert len(_state(item_id)[2]) == 1
    assert provider.count() == 1


def test_a_server_error_backs_off_and_keeps_the_item_for_another_attempt(provider):
    provider.add_rule("Server trouble", [Behavior("500")])
    item_id = _item("Server trouble")
    outcome = runner.run_item(item_id, worker="w/1")
    item, batch, articles = _state(item_id)
    assert outcome.status == "retrying" and outcome.retry_in is not None
    assert 0 < outcome.retry_in <= 0.5
    assert item.status == "retrying" and item.attempts == 1 and "500" in (item.error or "")
    assert item.next_attempt_at is not None and item.enqueued_at is None  # back in its backlog
    assert articles == [] and batch.status == "processing"
    # The next attempt, once due, succeeds and counts as the second.
    assert runner.run_item(item_id, worker="w/1").status == "completed"
    assert _state(item_id)[0].attempts == 2


def test_a_request_the_provider_rejects_fails_at_once_with_its_reason(provider):
    provider.add_rule("Bad request", [Behavior("400")])
    item_id = _item("Bad request")
    assert runner.run_item(item_id, worker="w/1").status == "failed"
    item, batch, _ = _state(item_id)
    assert item.attempts == 1 and "400: Invalid request" in (item.error or "")
    assert (batch.status, batch.failed) == ("failed", 1)
    assert provider.count() == 1


def test_a_refusal_in_the_text_is_written_again_then_kept_for_review(provider):
    """The model answered (finish_reason stop) but only to decline: the quality gate's refusal
    check sends it back once (QUALITY_MAX_REGENERATIONS=1), then keeps it for an editor."""
    declined = Behavior("text", text="I'm sorry, but I can't help with that request.")
    provider.add_rule("Refused twice", [declined, declined])
    item_id = _item("Refused twice")
    first = runner.run_item(item_id, worker="w/1")
    item, _, articles = _state(item_id)
    assert first.status == "retrying" and first.retry_in == 0.0
    assert item.regenerations == 1 and articles == []
    assert item.feedback  # the next prompt says what was wrong

    assert runner.run_item(item_id, worker="w/1").status == "completed"
    item, batch, articles = _state(item_id)
    assert [a.status for a in articles] == ["needs_review"]
    assert (batch.needs_review, batch.regenerated) == (1, 1)


def test_a_content_filter_fails_the_item_with_the_models_words(provider):
    provider.add_rule("Filtered", [Behavior("refusal")])
    item_id = _item("Filtered")
    assert runner.run_item(item_id, worker="w/1").status == "failed"
    item, _, articles = _state(item_id)
    assert "content filter" in (item.error or "") and articles == []


def test_a_cut_stream_is_not_an_article(provider):
    provider.add_rule("Cut short", [Behavior("cut")])
    item_id = _item("Cut short")
    assert runner.run_item(item_id, worker="w/1").status == "retrying"
    assert _state(item_id)[2] == []
