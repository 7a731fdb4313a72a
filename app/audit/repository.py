"""All of the audit trail's SQL: one insert, and reads newest first (keyset on the id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def add(session: Session, entry: AuditEntry) -> None:
    session.add(entry)


def _filtered(where: AuditFilter) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if where.actor is not None:
        query = query.where(AuditEntry.actor == where.actor)
    if where.action is not None:
        query = query.where(AuditEntry.action == where.action)
    if where.object_type is not None:
        query = query.where(AuditEntry.object_type == where.object_type)
    if where.object_id is not None:
        query = query.where(AuditEntry.object_id == where.object_id)
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at < where.until)
    return query


def page(session: Session, where: AuditFilter, *, before: int | None, limit: int
         ) -> Sequence[AuditEntry]:
    """Up to `limit` entries, newest first, older than the id `before` when given."""
    query = _filtered(where)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
