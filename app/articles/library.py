"""The article library: its filters checked once, search terms, and ZIP exports streamed from
the database (the SQL is in app.articles.repository, the files in app.articles.export)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from app.articles import repository
from app.articles.errors import ArticleError
from app.articles.export import zip_stream
from app.articles.naming import slug_for
from app.articles.repository import ArticleQuery
from app.core.db import session_scope
from app.core.models import utcnow

MAX_TERMS = 8
EXPORT_BATCH = 50  # rows read from the database at a time while a ZIP streams
_TERM = re.compile(r'"([^"]*)"|(\S+)')


def search_terms(q: str | None) -> tuple[str, ...]:
    """The words of a search: whitespace separates them, "double quotes" keep a phrase whole.
    Each must appear in the title or the content (any case; a Chinese word is one term)."""
    terms: list[str] = []
    for phrase, word in _TERM.findall(q or ""):
        term = " ".join((phrase or word).split())
        if term and term not in terms:
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise ArticleError.invalid("q", f"at most {MAX_TERMS} search terms, not {len(terms)}")
    return tuple(terms)


def _utc(value: datetime | None) -> datetime | None:
    """Times without an offset are UTC, like every stored time."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_query(
    *, category: str | None = None, status: str | None = None, language: str | None = None,
    task_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
    q: str | None = None, sort: str = "created_at", order: str = "desc",
) -> ArticleQuery:
    """The library's filters as one query (an `until` not after `since` matches nothing)."""
    since, until = _utc(since), _utc(until)
    return ArticleQuery(category=category or None, status=status or None,
                        language=language or None, task_id=task_id or None, since=since,
                        until=until, terms=search_terms(q), sort=sort, order=order)


def export_zip(query: ArticleQuery, batch_size: int = EXPORT_BATCH) -> Iterator[bytes]:
    """The ZIP of the articles `query` selects (one Markdown file each with YAML front matter,
    and manifest.csv), produced while the rows are read, `batch_size` at a time.

    It reads in a unit of work of its own, opened when the first chunk is asked for: the stream
    outlives the request's session, which is committed when the route returns. The count and
    the rows are read in one read-only transaction (on SQLite one snapshot).
    """
    with session_scope(read_only=True) as session:
        total = repository.count_articles(session, query)
        rows = repository.export_rows(session, query, batch_size=batch_size)
        yield from zip_stream(rows, total=total)


def library_export_name(query: ArticleQuery, now: datetime | None = None) -> str:
    """`articles-<what was asked for>-<date>.zip`, e.g. `articles-guide-比特币-2026-03-01.zip`."""
    hints = [query.category, query.status, query.language, *query.terms]
    what = slug_for(" ".join(h for h in hints if h), max_length=60) if any(hints) else ""
    day = (now or utcnow()).astimezone(UTC).date().isoformat()
    return "-".join(part for part in ("articles", what, day) if part) + ".zip"


def batch_export_name(category: str, task_id: str, created_at: datetime) -> str:
    """`<category>-<date>-<first 8 of the batch id>.zip`, e.g. `guide-2026-03-01-3f2a1b2c.zip`."""
    day = (_utc(created_at) or utcnow()).date().isoformat()
    return f"{slug_for(category, max_length=40)}-{day}-{slug_for(task_id)[:8]}.zip"
