"""All of the profiles domain's SQL."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.profiles.models import CategoryProfile


def get(session: Session, category: str, *, for_update: bool = False) -> CategoryProfile | None:
    query = select(CategoryProfile).where(CategoryProfile.category == category)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get_many(session: Session, categories: Collection[str]) -> dict[str, CategoryProfile]:
    """The stored profiles of these categories, by category (one query)."""
    rows = session.scalars(
        select(CategoryProfile).where(CategoryProfile.category.in_(list(categories)))
    )
    return {row.category: row for row in rows}


def list_all(session: Session) -> list[CategoryProfile]:
    return list(session.scalars(select(CategoryProfile).order_by(CategoryProfile.category)))
