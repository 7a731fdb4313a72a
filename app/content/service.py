"""The Content API's logic: live articles as their public shape, cursors, and the checks of
what a reader may ask. Nothing here writes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from app.articles.render import markdown_to_html
from app.articles.seo import SLUG_PATTERN
from app.content import repository
from app.content.schemas import ContentArticle, ContentPage
from app.core.errors import DomainError

MAX_LIMIT = 100
FEED_SIZE = 50  # the newest articles an RSS or Atom feed carries
SITEMAP_SIZE = 50_000  # the sitemaps.org limit for one file
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$"
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_SLUG = re.compile(SLUG_PATTERN)


class ContentError(DomainError):
    """A bad filter or cursor (422), an unknown slug (404), an ambiguous one (409)."""


def _utc(value: datetime) -> datetime:
    """SQLite hands times back naive (stored in UTC), PostgreSQL in the session's zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def article_url(base_url: str, slug: str, language: str | None) -> str:
    url = f"{base_url.rstrip('/')}/content/articles/{slug}"
    return f"{url}?language={quote(language)}" if language else url


def _times(row: dict[str, Any]) -> tuple[datetime, datetime]:
    """(published_at, updated_at): when it went live; when its live text last changed."""
    published, written = _utc(row["published_at"]), _utc(row["version_created_at"])
    return published, max(published, written)


def public(row: dict[str, Any], base_url: str) -> ContentArticle:
    """A live row (repository.LIVE_COLUMNS) as the API shows it: named fields only."""
    published, updated = _times(row)
    return ContentArticle(
        slug=row["slug"], language=row["language"], category=row["category"],
        title=row["title"], seo_title=row["seo_title"],
        meta_description=row["meta_description"], excerpt=row["excerpt"],
        tags=list(row["tags"] or []), html=markdown_to_html(row["content"]),
        markdown=row["content"], url=article_url(base_url, row["slug"], row["language"]),
        published_at=published, updated_at=updated)


def last_modified(articles: list[ContentArticle]) -> datetime | None:
    return max((a.updated_at for a in articles), default=None)


def encode_cursor(article: ContentArticle, article_id: int) -> str:
    raw = json.dumps([article.published_at.isoformat(), article_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, article_id = json.loads(raw)
        return datetime.fromisoformat(at), int(article_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ContentError.invalid("cursor", "not a cursor this API gave (use next_cursor "
                                   "as it is)") from exc


def check_filters(language: str | None, category: str | None) -> None:
    if language is not None and not _LANGUAGE.match(language):
        raise ContentError.invalid("language", "a BCP 47 tag such as en or zh-CN")
    if category is not None and not category.strip():
        raise ContentError.invalid("category", "must not be blank")


def page(session: Session, *, base_url: str, limit: int, cursor: str | None = None,
         language: str | None = None, category: str | None = None,
         tag: str | None = None) -> ContentPage:
    """One page of live articles, newest first, and the cursor of the next."""
    check_filters(language, category)
    after = decode_cursor(cursor) if cursor else None
    query = repository.LiveQuery(language=language, category=category, tag=tag, after=after)
    rows = repository.live_articles(session, query, limit + 1)
    items = [public(row, base_url) for row in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor(items[-1], rows[limit - 1]["id"]) if more else None
    return ContentPage(items=items, next_cursor=next_cursor)


def newest(session: Session, *, base_url: str, size: int, language: str | None = None,
           category: str | None = None) -> list[ContentArticle]:
    """The newest `size` live articles (feeds, the sitemap)."""
    check_filters(language, category)
    rows = repository.live_articles(
        session, repository.LiveQuery(language=language, category=category), size)
    return [public(row, base_url) for row in rows]


def locations(session: Session, *, base_url: str) -> list[tuple[str, datetime]]:
    """(URL, last change) of every live article, newest first (a sitemap's, at most
    SITEMAP_SIZE)."""
    return [(article_url(base_url, row["slug"], row["language"]), _times(row)[1])
            for row in repository.live_locations(session, SITEMAP_SIZE)]


def by_slug(session: Session, slug: str, language: str | None, *, base_url: str
            ) -> ContentArticle:
    if not _SLUG.match(slug):
        raise ContentError.not_found("slug", f"no published article {slug!r}")
    check_filters(language, None)
    rows = repository.live_by_slug(session, slug, language)
    if not rows:
        where = f" in {language}" if language else ""
        raise ContentError.not_found("slug", f"no published article {slug!r}{where}")
    if len(rows) > 1:
        languages = ", ".join(str(row["language"]) for row in rows)
        raise ContentError.conflict("language", f"{slug!r} is published in {languages}: "
                                    "add ?language=")
    return public(rows[0], base_url)
