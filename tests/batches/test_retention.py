"""Cleanup deletes old finished batches with their articles, but never an approved or a
published article (nor, so that it keeps its item and history, its batch)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.articles.models import Article, ArticleVersion
from app.batches import retention
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.core.models import utcnow
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch, set_article
from tests.support.stack import use_settings


def count(model: type) -> int:
    with session_scope(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_cleanup_keeps_batches_with_approved_or_published_articles(db):
    old = utcnow() - timedelta(days=40)
    drafts, _ = add_batch([ZH_ARTICLE, EN_ARTICLE], finished_at=old)
    rejected, (rejected_id,) = add_batch([EN_ARTICLE], finished_at=old)
    approved, (approved_id, draft_id) = add_batch([ZH_ARTICLE, EN_ARTICLE], finished_at=old)
    published, (published_id,) = add_batch([ZH_ARTICLE], finished_at=old)
    recent, _ = add_batch([EN_ARTICLE])
    running, _ = add_batch([EN_ARTICLE], finished_at=old, status="processing")
    set_article(rejected_id, status="rejected")
    set_article(approved_id, status="approved")
    set_article(published_id, status="published")
    with session_scope() as session:
        session.add(ArticleVersion(article_id=published_id, version=1, title="t", content="c",
                                   source="generated"))

    assert retention.cleanup() == {"batches_deleted": 0, "batches_kept": 0}  # off by default
    use_settings(batch_retention_days="30")
    try:
        assert retention.cleanup() == {"batches_deleted": 2, "batches_kept": 2}
    finally:
        use_settings(batch_retention_days=None)
    with session_scope(read_only=True) as session:
        batches = set(session.scalars(select(AIGenerationTask.id)))
        articles = set(session.scalars(select(Article.id)))
    assert batches == {approved, published, recent, running}
    assert {approved_id, draft_id, published_id} <= articles and rejected_id not in articles
    assert count(Article) == 5 and count(GenerationItem) == 5 and count(ArticleVersion) == 1

    set_article(published_id, status="rejected")  # unpublished later: no longer kept
    assert retention.delete_old_batches(30) == 1 and retention.kept_old_batches(30) == 1
    assert count(ArticleVersion) == 0 and count(Article) == 4
