"""The webhook events of an article's review states (app.webhooks): what a subscriber is told.

`reached(session, article)` right after the transition, in its transaction (one line at each
place an article reaches needs_review, approved, published or unpublished). The payload names
the article and where to read it: no content, cost, tokens or prompt.
"""

from __future__ import annotations

from collections.abc import Callable
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


# Domains above this one that act on an article's events in the same transaction (WordPress
# publishing queues its auto-publishes: app.publishing.service subscribes when imported, as the
# feeder does to app.batches.work; the API and every worker import it).
Listener = Callable[[Session, Article, EventType], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def reached(session: Session, article: Article, event: EventType | None = None) -> None:
    """The article just reached its status (or `event`, e.g. article.unpublished, whose
    status is another one): tell that event's webhook subscribers and listeners."""
    event = event or EVENTS.get(article.status)
    if event is None:
        return
    webhooks.emit(session, event, data(article))
    for listener in list(_listeners):
        listener(session, article, event)


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
