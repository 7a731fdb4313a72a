"""Going live and coming down: publish now or at a time, unpublish, and the scheduled publishes
the workers' maintenance loop fires (app/worker/loop.py, job `publish-scheduled`: no beat).

An article is live while `published_version` is set: the Content API (app/content) serves that
version, whatever the article's status says about later edits. Publishing (now, or when a
schedule comes due) copies the current version there; unpublishing clears it.

A due schedule is published by one conditional UPDATE (still scheduled, still due), so two
workers' loops running the job at once publish it exactly once. Nothing here commits but
`publish_due`, which is the job itself and uses its own unit of work per article.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import case
from sqlalchemy.orm import Session

from app.articles import events, repository, service
from app.articles.enums import ArticleStatus
from app.articles.errors import ArticleError
from app.articles.models import Article
from app.core.db import session_scope
from app.core.models import utcnow
from app.webhooks.enums import EventType

log = logging.getLogger(__name__)

MAX_AHEAD = timedelta(days=366)  # a schedule further ahead is a typo, not a plan
PUBLISH_INTERVAL = 1.0  # seconds between the loop's looks for due schedules


def clean_publish_at(value: datetime | None, now: datetime | None = None) -> datetime:
    """A schedule's time in UTC: given with its zone, in the future, within MAX_AHEAD."""
    now = now or utcnow()
    if value is None:
        raise ArticleError.invalid("publish_at", "required: when to publish (UTC, ISO 8601)")
    if value.tzinfo is None:
        raise ArticleError.invalid("publish_at", "give the time zone (e.g. 2026-05-01T08:00Z)")
    value = value.astimezone(UTC)
    if value <= now:
        raise ArticleError.invalid("publish_at", f"must be in the future (now "
                                   f"{now:%Y-%m-%dT%H:%M:%S}Z); publish now instead")
    if value > now + MAX_AHEAD:
        raise ArticleError.invalid("publish_at", f"at most {MAX_AHEAD.days} days ahead")
    return value


def schedule(session: Session, article_id: int, *, version: int | None, publish_at: datetime
             | None, note: object = None, reviewer: object = None) -> Article:
    """approved (or scheduled) → scheduled at `publish_at`, for the version the reviewer read."""
    when = clean_publish_at(publish_at)
    return service.review(session, article_id, "schedule", version=version, note=note,
                          reviewer=reviewer, publish_at=when)


def unpublish(session: Session, article_id: int, *, note: object = None,
              reviewer: object = None) -> Article:
    """Take the live version down (the article is approved again) or cancel a schedule."""
    article = service.get_or_404(session, article_id)
    if article.published_version is None and article.status != ArticleStatus.SCHEDULED:
        raise ArticleError.conflict("status", f"article {article_id} is not published or "
                                    f"scheduled (it is {article.status})")
    now = utcnow()
    moved = repository.move(
        session, article_id, at_version=article.version, published_version=None,
        published_at=None, publish_at=None, updated_at=now, reviewer=service.clean_reviewer(
            reviewer), reviewed_at=now, review_note=service.clean_note(note),
        status=case((Article.status.in_([ArticleStatus.PUBLISHED, ArticleStatus.SCHEDULED]),
                     ArticleStatus.APPROVED), else_=Article.status))
    if not moved:
        raise ArticleError.conflict("version", f"article {article_id} changed meanwhile; "
                                    "reload it and try again")
    log.info("article %s unpublished", article_id)
    was_live = article.published_version is not None
    article = service.reloaded(session, article_id)
    if was_live:  # a cancelled schedule was never live: nothing to tell
        events.reached(session, article, EventType.ARTICLE_UNPUBLISHED)
    return article


def publish_due(now: datetime | None = None) -> list[int]:
    """Publish every scheduled article whose time has come; their ids (this worker's)."""
    now = now or utcnow()
    with session_scope(read_only=True) as session:
        due = repository.due_schedules(session, now)
    published = []
    for article_id in due:
        with session_scope() as session:
            if repository.publish_due(session, article_id, now):
                events.reached(session, service.reloaded(session, article_id))  # published
                published.append(article_id)
    if published:
        log.info("published on schedule: articles %s", ", ".join(map(str, published)))
    return published
