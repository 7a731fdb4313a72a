"""All of the articles domain's SQL."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.articles.enums import ArticleStatus
from app.articles.models import Article, ArticleVersion
from app.core.models import utcnow
from app.llm.base import Generated


def list_articles(
    session: Session, *, task_id: str | None, limit: int, offset: int
) -> tuple[list[Article], int]:
    query = select(Article)
    count = select(func.count()).select_from(Article)
    if task_id:
        query = query.where(Article.task_id == task_id)
        count = count.where(Article.task_id == task_id)
    rows = session.scalars(query.order_by(Article.id).limit(limit).offset(offset)).all()
    return list(rows), int(session.scalar(count) or 0)


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def for_item(session: Session, item_id: int) -> Article | None:
    return session.scalars(select(Article).where(Article.item_id == item_id)).one_or_none()


def title_for_item(session: Session, item_id: int) -> str | None:
    """The title of the item's article, or None when it has none yet."""
    return session.scalar(select(Article.title).where(Article.item_id == item_id))


def insert_generated(
    session: Session, *, item_id: int, task_id: str, title: str, category: str,
    generated: Generated, status: str = ArticleStatus.DRAFT, **fields: Any,
) -> int | None:
    """Store an item's article; its id, or None when the item has one already. One statement
    whatever happens: the unique item_id keeps a first article, never a second, when a
    redelivered task completes the item again. `fields`: language, quality_flags,
    profile_id, profile_version."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    return session.scalar(
        insert(Article)
        .values(
            item_id=item_id,
            task_id=task_id,
            title=title,
            category=category,
            content=generated.content,
            provider=generated.provider,
            model=generated.model,
            prompt_tokens=generated.prompt_tokens,
            completion_tokens=generated.completion_tokens,
            total_tokens=generated.total_tokens,
            tokens_estimated=generated.tokens_estimated,
            finish_reason=generated.finish_reason or None,
            status=status,
            version=1,
            created_at=now,
            updated_at=now,
            **fields,
        )
        .on_conflict_do_nothing(index_elements=["item_id"])
        .returning(Article.id)
    )


def add_version(session: Session, article: Article | int, *, version: int, title: str,
                content: str, source: str, author: str | None = None, note: str | None = None,
                model: str | None = None) -> ArticleVersion:
    article_id = article if isinstance(article, int) else article.id
    row = ArticleVersion(article_id=article_id, version=version, title=title, content=content,
                         source=source, author=author, note=note, model=model,
                         created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def has_versions(session: Session, article_id: int) -> bool:
    return session.scalar(
        select(ArticleVersion.id).where(ArticleVersion.article_id == article_id).limit(1)
    ) is not None


def versions(session: Session, article_id: int) -> list[ArticleVersion]:
    return list(session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version)
    ))


def version(session: Session, article_id: int, number: int) -> ArticleVersion | None:
    return session.scalars(select(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.version == number
    )).one_or_none()


def move(session: Session, article_id: int, *, status_in: Collection[str] | None = None,
         at_version: int | None = None, **values: Any) -> bool:
    """One conditional UPDATE of an article: True when it was in one of `status_in` (and at
    `at_version`) and so changed. Two reviewers or editors racing cannot both win."""
    query = update(Article).where(Article.id == article_id)
    if status_in is not None:
        query = query.where(Article.status.in_(list(status_in)))
    if at_version is not None:
        query = query.where(Article.version == at_version)
    result = session.execute(query.values(**values).execution_options(
        synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


def recent_texts(session: Session, category: str, *, exclude_item: int, limit: int,
                 language: str | None = None) -> list[tuple[int, str]]:
    """(id, content) of the newest articles of a category (and language), for the duplicate
    check; on the (category, created_at) index."""
    query = select(Article.id, Article.content).where(
        Article.category == category, Article.item_id != exclude_item)
    if language is not None:
        query = query.where((Article.language == language) | Article.language.is_(None))
    rows = session.execute(query.order_by(Article.created_at.desc()).limit(limit))
    return [(int(row.id), str(row.content)) for row in rows]
