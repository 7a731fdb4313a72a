"""Reading articles."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Article


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
