"""Housekeeping run by beat: finished batches older than BATCH_RETENTION_DAYS are removed.

Celery results need no sweeping here: the Redis result backend expires them itself
(CELERY_RESULT_EXPIRES), and cancel flags and locks carry their own TTLs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from app.batches.enums import BATCH_FINAL
from app.batches.models import AIGenerationTask
from app.config import get_settings
from app.core.db import session_scope
from app.core.models import utcnow

log = logging.getLogger(__name__)

CHUNK = 500


def delete_old_batches(days: int) -> int:
    """Finished batches older than `days`, with their items and articles (ON DELETE CASCADE)."""
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    while True:
        with session_scope() as session:
            ids = list(session.scalars(
                select(AIGenerationTask.id)
                .where(AIGenerationTask.status.in_(BATCH_FINAL),
                       AIGenerationTask.finished_at < cutoff)
                .limit(CHUNK)
            ))
            if ids:
                session.execute(delete(AIGenerationTask).where(AIGenerationTask.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < CHUNK:
            return deleted


def cleanup() -> dict[str, Any]:
    report: dict[str, Any] = {}
    days = get_settings().batch_retention_days
    report["batches_deleted"] = delete_old_batches(days) if days else 0
    if report["batches_deleted"]:
        log.info("cleanup: deleted %d batch(es) finished over %d day(s) ago",
                 report["batches_deleted"], days)
    return report
