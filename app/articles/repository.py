"""All of the articles domain's SQL."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.articles.models import Article
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


def insert_generated(
    session: Session, *, item_id: int, task_id: str, title: str, category: str,
    generated: Generated,
) -> None:
    """Store an item's article. One statement whatever happens: the unique item_id keeps a
    first article, never a second, when a redelivered task completes the item again."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
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
            # Counted by app.llm.tokens when the server sent no usage: say so, for costs.
            tokens_estimated=generated.tokens_estimated,
            finish_reason=generated.finish_reason or None,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["item_id"])
    )
