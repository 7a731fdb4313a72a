"""Which transitions emit which event, once each, with what payload (no worker: the rows)."""

from __future__ import annotations

import json

import pytest

from app.articles import service as articles
from app.articles.enums import ArticleStatus
from app.articles.models import Article
from app.batches import service as batches
from app.batches import state
from app.batches.spend.budget import Refusal
from app.core.db import session_scope
from app.core.models import utcnow
from app.llm.base import Generated
from app.webhooks import service
from app.webhooks.models import WebhookDelivery

DRAFT = Generated(content="# One\n\n## A\n\nBody.", provider="test", model="m")
EVERYTHING = ["batch.completed", "batch.failed", "batch.cancelled", "batch.paused",
              "article.needs_review", "article.approved", "article.published"]


@pytest.fixture
def subscribed(private_allowed: str) -> None:
    with session_scope() as session:
        service.create(session, url="http://127.0.0.1:9/hook", events=EVERYTHING)


def _events() -> list[dict]:
    with session_scope() as session:
        rows = session.query(WebhookDelivery).order_by(WebhookDelivery.id).all()
        return [json.loads(row.body) for row in rows]


def _batch_with_article(status: str) -> int:
    with session_scope() as session:
        batch = batches.create_batch(session, ["One"], "guide", language="en")
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        state.complete_item(session, item, "guide", DRAFT,
                            quality=articles.Quality(status=status))
        return session.query(Article).one().id


def test_a_batch_that_ends_emits_batch_completed_once_and_needs_review_per_article(subscribed):
    article_id = _batch_with_article(ArticleStatus.NEEDS_REVIEW)
    needs_review, completed = _events()
    assert needs_review["type"] == "article.needs_review"
    assert (needs_review["data"]["article_id"], needs_review["data"]["title"]) == (
        article_id, "One")
    assert completed["type"] == "batch.completed"
    data = completed["data"]
    assert (data["status"], data["total"], data["completed"], data["needs_review"]) == (
        "completed", 1, 1, 1)
    assert data["finished_at"].endswith("Z") and "cost_usd" not in data
    with session_scope() as session:  # recounting an ended batch emits nothing more
        state.refresh_batch(session, data["task_id"])
    assert len(_events()) == 2


def test_approve_and_publish_emit_their_events(subscribed):
    article_id = _batch_with_article(ArticleStatus.DRAFT)
    with session_scope() as session:
        articles.review(session, article_id, "approve", version=1, reviewer="安娜")
    with session_scope() as session:
        articles.review(session, article_id, "publish", version=1)
    approved, published = _events()[-2:]
    assert (approved["type"], approved["data"]["reviewer"]) == ("article.approved", "安娜")
    assert (published["type"], published["data"]["status"]) == (
        "article.published", "published")
    assert "content" not in published["data"]


def test_a_pause_emits_batch_paused_once(subscribed):
    with session_scope() as session:
        batch_id = batches.create_batch(session, ["One"], "guide", language="en").id
    refusal = Refusal(cap="daily", limit_usd=1.0, spent_usd=1.0, amount_usd=0.1,
                      reason="daily budget of $1.00 reached", resume_at=utcnow())
    for _ in range(2):
        with session_scope() as session:
            batch = state.lock_batch(session, batch_id)
            assert batch is not None
            state.pause_batch(session, batch, refusal)
    (paused,) = _events()
    assert paused["type"] == "batch.paused"
    assert paused["data"]["paused_reason"] == "daily budget of $1.00 reached"


def test_a_batch_that_could_not_start_emits_batch_failed(subscribed):
    with session_scope() as session:
        batch_id = batches.create_batch(session, ["One"], "guide", language="en").id
    with session_scope() as session:
        state.fail_batch(session, batch_id, "no provider")
    (failed,) = _events()
    assert (failed["type"], failed["data"]["status"]) == ("batch.failed", "failed")
