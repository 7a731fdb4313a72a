"""The audit trail's use cases: append an entry, read entries by filter (never edit one)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy.orm import Session

from app.audit import repository
from app.audit.models import AuditEntry
from app.audit.repository import AuditFilter
from app.core.db import session_scope

# Rows read per query while a CSV streams (each page in a short read-only session).
EXPORT_CHUNK = 500


def record(session: Session, entry: AuditEntry) -> None:
    repository.add(session, entry)
    session.flush()


def entries(session: Session, where: AuditFilter, *, before: int | None, limit: int
            ) -> tuple[Sequence[AuditEntry], int | None]:
    """A page, newest first, and the cursor of the next one (None on the last)."""
    rows = repository.page(session, where, before=before, limit=limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def every_entry(where: AuditFilter) -> Iterator[AuditEntry]:
    """Every matching entry, newest first, read a chunk at a time (for a streamed export:
    no session stays open while the client reads)."""
    before: int | None = None
    while True:
        with session_scope(read_only=True) as session:
            rows, before = entries(session, where, before=before, limit=EXPORT_CHUNK)
        yield from rows
        if before is None:
            return
