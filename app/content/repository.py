"""The Content API's SQL: live articles only, each as its published version.

An article is live while `published_version` is set; what is served is that version's row of
`article_versions` (title, text, SEO fields), never the article's current text: an edit waiting
for review stays invisible. The columns read are an explicit list (LIVE_COLUMNS), so a private
column (cost, tokens, model, reviewer, review note, drafts) cannot reach an answer by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, exists, func, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.articles.models import Article, ArticleVersion

LIVE_COLUMNS = (
    Article.id, Article.language, Article.category, Article.published_at,
    ArticleVersion.version, ArticleVersion.title, ArticleVersion.content, ArticleVersion.slug,
    ArticleVersion.seo_title, ArticleVersion.meta_description, ArticleVersion.excerpt,
    ArticleVersion.tags, ArticleVersion.created_at.label("version_created_at"),
)


@dataclass(frozen=True)
class LiveQuery:
    language: str | None = None  # "zh" also finds "zh-CN"
    category: str | None = None
    tag: str | None = None
    after: tuple[datetime, int] | None = None  # the cursor: (published_at, id) last seen


def _published_version() -> ColumnElement[bool]:
    return and_(ArticleVersion.article_id == Article.id,
                ArticleVersion.version == Article.published_version)


def _live() -> Select[Any]:
    return select(*LIVE_COLUMNS).join(ArticleVersion, _published_version())


def _language(tag: str) -> ColumnElement[bool]:
    language = func.lower(Article.language)
    tag = tag.lower()
    return or_(language == tag, language.like(f"{tag}-%"))


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(ArticleVersion.tags, JSONB).contains([tag])
    each = func.json_each(ArticleVersion.tags).table_valued("value")
    return exists(select(text("1")).select_from(each).where(each.c.value == tag))


def _where(session: Session, query: LiveQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Article.published_version.is_not(None)]
    if query.language:
        conditions.append(_language(query.language))
    if query.category:
        conditions.append(Article.category == query.category)
    if query.tag:
        conditions.append(_has_tag(session, query.tag))
    if query.after is not None:
        at, article_id = query.after
        conditions.append(or_(Article.published_at < at,
                              and_(Article.published_at == at, Article.id < article_id)))
    return conditions


def live_articles(session: Session, query: LiveQuery, limit: int) -> list[dict[str, Any]]:
    """Newest first by the time they went live, then by id (the cursor's order)."""
    statement = (_live().where(*_where(session, query))
                 .order_by(Article.published_at.desc(), Article.id.desc()).limit(limit))
    return [dict(row) for row in session.execute(statement).mappings()]


def live_by_slug(session: Session, slug: str, language: str | None) -> list[dict[str, Any]]:
    """The live articles whose published version has `slug` (one per language at most)."""
    statement = _live().where(Article.published_version.is_not(None),
                              ArticleVersion.slug == slug)
    if language:
        statement = statement.where(_language(language))
    return [dict(row) for row in session.execute(statement.order_by(Article.language).limit(20))
            .mappings()]


def live_locations(session: Session, limit: int) -> list[dict[str, Any]]:
    """(slug, language, published_at, version_created_at) of live articles, newest first:
    what a sitemap needs, without their texts."""
    statement = (select(ArticleVersion.slug, Article.language, Article.published_at,
                        ArticleVersion.created_at.label("version_created_at"))
                 .join(ArticleVersion, _published_version())
                 .where(Article.published_version.is_not(None))
                 .order_by(Article.published_at.desc(), Article.id.desc()).limit(limit))
    return [dict(row) for row in session.execute(statement).mappings()]
