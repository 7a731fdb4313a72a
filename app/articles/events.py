"""The webhook events of an article's review states (app.webhooks): what a subscriber is told.

`reached(session, article)` right after the transition, in its transaction (one line at each
place an article reaches needs_review, approved, published or unpublished). The payload names
the article and where to read it: no content, cost, tokens or prompt.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.articles.enums import ArticleStatus
from app.articles.models import Article
from app.webhooks import service as webhooks
from app.webhooks.enums import EventType

EVENTS: dict[str, EventType] = {
    ArticleStatus.NEEDS_REVIEW: EventType.ARTICLE_NEEDS_REVIEW,
    ArticleStatus.APPROVED: EventType.ARTICLE_APPROVED,
    ArticleStatus.PUBLISHED: EventType.ARTICLE_PUBLISHED,
}


def reached(session: Session, article: Article, event: EventType | None = None) -> None:
    """The article just reached its status (or `event`, e.g. article.unpublished, whose
    status is another one): tell that event's subscribers."""
    event = event or EVENTS.get(article.status)
    if event is not None:
        webhooks.emit(session, event, data(article))


def data(article: Article) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "task_id": article.task_id,
        "title": article.title,
        "category": article.category,
        "language": article.language,
        "status": article.status,
        "version": article.version,
        "quality_flags": [f.get("name") for f in article.quality_flags or []
                          if isinstance(f, dict)],
        "reviewer": article.reviewer,
        "reviewed_at": article.reviewed_at,
        "links": {"article": f"/api/articles/{article.id}",
                  "batch": f"/api/tasks/{article.task_id}/status"},
    }
