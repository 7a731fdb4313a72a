"""Regenerating one article and the quality counters, on the state machine (no workers)."""

from __future__ import annotations

import pytest

from app.articles.models import Article, ArticleVersion
from app.articles.service import Quality
from app.batches import regenerate, service, state
from app.batches.errors import BatchError
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.llm.base import Generated

DRAFT = Generated(content="# T\n\n## A\n\nBody", provider="test", model="m")


def _batch(titles: list[str]) -> tuple[str, list[int]]:
    with session_scope() as session:
        batch = service.create_batch(session, titles, "guide", language="en")
        return batch.id, [i.id for i in batch.items]


def _complete(item_id: int, quality: Quality | None = None) -> None:
    with session_scope() as session:
        item = state.claim_item(session, item_id, "w/1", lease=60)
        assert item is not None
        assert state.complete_item(session, item, "guide", DRAFT, quality=quality) is not None


def _batch_row(batch_id: str) -> AIGenerationTask:
    with session_scope() as session:
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        session.expunge(batch)
        return batch


def _article_of(item_id: int) -> int:
    with session_scope() as session:
        return session.query(Article).filter(Article.item_id == item_id).one().id


def test_regenerate_reopens_the_item_and_the_batch(db):
    batch_id, (first, second) = _batch(["One", "Two"])
    _complete(first)
    _complete(second)
    assert _batch_row(batch_id).status == "completed"
    article_id = _article_of(first)
    with session_scope() as session:
        reopened = regenerate.regenerate(session, article_id, "  Shorter, please  ")
        assert (reopened.item_status, reopened.version, reopened.feedback) == (
            "pending", 1, "Shorter, please")
    batch = _batch_row(batch_id)
    assert (batch.status, batch.completed, batch.progress, batch.finished_at) == (
        "processing", 1, 50, None)
    with session_scope() as session:
        item = session.get(GenerationItem, first)
        assert item is not None
        assert (item.status, item.attempts, item.feedback) == ("pending", 0, "Shorter, please")
    with pytest.raises(BatchError) as err, session_scope() as session:
        regenerate.regenerate(session, article_id)
    assert err.value.status_code == 409 and "its item is pending" in err.value.message
    _complete(first)
    assert _batch_row(batch_id).status == "completed"
    with session_scope() as session:
        assert session.query(Article).count() == 2
        versions = session.query(ArticleVersion).filter(
            ArticleVersion.article_id == article_id).order_by(ArticleVersion.version).all()
        assert [(v.version, v.source) for v in versions] == [(1, "generated"),
                                                             (2, "regenerated")]


def test_a_cancelled_batch_runs_the_item_and_stays_cancelled(db):
    batch_id, (first, _second) = _batch(["One", "Two"])
    _complete(first)
    with session_scope() as session:
        service.cancel(session, batch_id)
    assert _batch_row(batch_id).status == "cancelled"
    with session_scope() as session:
        regenerate.regenerate(session, _article_of(first))
    batch = _batch_row(batch_id)
    assert (batch.status, batch.cancel_requested, batch.cancelled) == ("processing", False, 1)
    _complete(first)  # claimable again: the flag is down
    batch = _batch_row(batch_id)
    assert (batch.status, batch.completed, batch.cancelled) == ("cancelled", 1, 1)


def test_unknown_article_and_bad_feedback(db):
    with pytest.raises(BatchError) as err, session_scope() as session:
        regenerate.regenerate(session, 123_456)
    assert err.value.status_code == 404
    with pytest.raises(BatchError) as err, session_scope() as session:
        regenerate.regenerate(session, 1, "x" * 2001)
    assert (err.value.status_code, err.value.field) == (422, "feedback")


def test_the_batch_counts_regenerated_items_and_articles_for_review(db):
    batch_id, (first, second) = _batch(["One", "Two"])
    with session_scope() as session:
        item = state.claim_item(session, first, "w/1", lease=60)
        assert item is not None
        snapshot = state.regenerate_item(session, item, "quality: too short", "Longer.")
        assert snapshot is not None and (snapshot.regenerated, snapshot.needs_review) == (1, 0)
    with session_scope() as session:
        item = session.get(GenerationItem, first)
        assert item is not None
        assert (item.status, item.regenerations, item.feedback, item.error) == (
            "retrying", 1, "Longer.", "quality: too short")
    _complete(first, Quality(status="needs_review", flags=[{"name": "length", "message": "x"}]))
    _complete(second)
    batch = _batch_row(batch_id)
    assert (batch.status, batch.regenerated, batch.needs_review) == ("completed", 1, 1)
    with session_scope() as session:
        item = session.get(GenerationItem, first)
        assert item is not None and item.feedback is None  # used up by the completed attempt
