"""Housekeeping run by beat: finished batches older than BATCH_RETENTION_DAYS are removed,
with their items and articles, unless an editor kept one of its articles (approved or
published): such a batch stays whole, so the article keeps its item, history and batch.

Celery results need no sweeping here: the Redis result backend expires them itself
(CELERY_RESULT_EXPIRES), and cancel flags and locks carry their own TTLs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from app.batches import repository, state
from app.config import get_settings
from app.core.db import session_scope
from app.core.models import utcnow

log = logging.getLogger(__name__)

CHUNK = 500


def delete_old_batches(days: int) -> int:
    """Finished batches older than `days`, with their items and articles, but none holding an
    approved or published article. Chosen here (repository), deleted by the one writer of
    batch rows (state.delete_batches), a chunk per transaction."""
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    while True:
        with session_scope() as session:
            ids = repository.old_batch_ids(session, cutoff, CHUNK)
            if ids:
                state.delete_batches(session, ids)
        deleted += len(ids)
        if len(ids) < CHUNK:
            return deleted


def kept_old_batches(days: int) -> int:
    """Finished batches older than `days` that cleanup keeps for their kept articles."""
    cutoff = utcnow() - timedelta(days=days)
    with session_scope(read_only=True) as session:
        return repository.count_kept_old(session, cutoff)


def cleanup() -> dict[str, Any]:
    report: dict[str, Any] = {}
    days = get_settings().batch_retention_days
    report["batches_deleted"] = delete_old_batches(days) if days else 0
    report["batches_kept"] = kept_old_batches(days) if days else 0
    if report["batches_deleted"] or report["batches_kept"]:
        log.info("cleanup: deleted %d batch(es) finished over %d day(s) ago; kept %d holding "
                 "approved or published articles", report["batches_deleted"], days,
                 report["batches_kept"])
    return report
