"""Every SQL read of the publishing domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.publishing.models import Publication, PublishTarget


def get_target(session: Session, target_id: int) -> PublishTarget | None:
    return session.get(PublishTarget, target_id)


def target_named(session: Session, name: str) -> PublishTarget | None:
    return session.scalar(select(PublishTarget).where(PublishTarget.name == name))


def list_targets(session: Session, *, limit: int, offset: int
                 ) -> tuple[Sequence[PublishTarget], int]:
    rows = session.scalars(select(PublishTarget).order_by(PublishTarget.id)
                           .limit(limit).offset(offset)).all()
    return rows, session.scalar(select(func.count()).select_from(PublishTarget)) or 0


def targets_with_auto_publish(session: Session, setting: str) -> Sequence[PublishTarget]:
    return session.scalars(select(PublishTarget).where(PublishTarget.auto_publish == setting)
                           .order_by(PublishTarget.id)).all()


def overdue(session: Session, state: str, due_before: datetime) -> Sequence[Publication]:
    return session.scalars(select(Publication).where(
        Publication.state == state, Publication.next_attempt_at < due_before)
        .order_by(Publication.id).limit(500)).all()


def get_publication(session: Session, publication_id: int) -> Publication | None:
    return session.get(Publication, publication_id)


def publication_of(session: Session, article_id: int, target_id: int) -> Publication | None:
    return session.scalar(select(Publication).where(Publication.article_id == article_id,
                                                    Publication.target_id == target_id))


def publications_of(session: Session, article_id: int) -> Sequence[Publication]:
    return session.scalars(select(Publication).where(Publication.article_id == article_id)
                           .order_by(Publication.target_id)).all()
