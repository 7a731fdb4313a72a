"""Housekeeping run by beat: finished batches older than BATCH_RETENTION_DAYS are removed,
with their items and articles, unless an editor kept one of its articles (approved or
published): such a batch stays whole, so the article keeps its item, history and batch.

Celery results need no sweeping here: the Redis result backend expires them itself
(CELERY_RESULT_EXPIRES), and cancel flags and locks carry their own TTLs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select

from app.articles.enums import ArticleStatus
from app.articles.models import Article
from app.batches.enums import BATCH_FINAL
from app.batches.models import AIGenerationTask
from app.config import get_settings
from app.core.db import session_scope
from app.core.models import utcnow

log = logging.getLogger(__name__)

CHUNK = 500
KEPT = (ArticleStatus.APPROVED, ArticleStatus.PUBLISHED)  # never deleted by cleanup


def _old(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [AIGenerationTask.status.in_(BATCH_FINAL), AIGenerationTask.finished_at < cutoff]


def _keeps_an_article() -> ColumnElement[bool]:
    return exists().where(Article.task_id == AIGenerationTask.id, Article.status.in_(KEPT))


def delete_old_batches(days: int) -> int:
    """Finished batches older than `days`, with their items and articles (ON DELETE CASCADE),
    but none holding an approved or published article."""
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    while True:
        with session_scope() as session:
            ids = list(session.scalars(
                select(AIGenerationTask.id)
                .where(*_old(cutoff), ~_keeps_an_article())
                .limit(CHUNK)
            ))
            if ids:
                # Checked again by the DELETE itself: an approval since the SELECT keeps it.
                session.execute(delete(AIGenerationTask).where(
                    AIGenerationTask.id.in_(ids), ~_keeps_an_article()))
        deleted += len(ids)
        if len(ids) < CHUNK:
            return deleted


def kept_old_batches(days: int) -> int:
    """Finished batches older than `days` that cleanup keeps for their kept articles."""
    cutoff = utcnow() - timedelta(days=days)
    with session_scope(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(AIGenerationTask)
                                  .where(*_old(cutoff), _keeps_an_article())) or 0)


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
