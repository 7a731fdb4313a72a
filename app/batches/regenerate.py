"""Regenerate one article: its item runs again through the normal queue (rate limits, quality
checks and the rest apply), and the result becomes the article's next version (source
`regenerated`, app/articles/service.py store_generation) instead of a second article.

Its batch is processing again while the item runs, also a batch that ended or was cancelled
(its cancelled items stay cancelled; app.batches.state._final_status). Nothing here commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.articles import repository as articles
from app.batches import cancel_flags, state, work
from app.batches.enums import ItemStatus
from app.batches.errors import ArticleBusy, ArticleNotFound, ArticleWithoutItem, BatchError
from app.batches.models import GenerationItem
from app.batches.progress import Snapshot, announce, item_event
from app.core.text import NOT_UNICODE, has_surrogate

log = logging.getLogger(__name__)

MAX_FEEDBACK = 2000


@dataclass(frozen=True)
class Reopened:
    article_id: int
    task_id: str
    item_id: int
    item_status: str
    version: int
    feedback: str | None


def clean_feedback(feedback: object) -> str | None:
    if feedback is None:
        return None
    if not isinstance(feedback, str):
        raise BatchError.invalid("feedback", "must be a string")
    text = feedback.strip()
    if len(text) > MAX_FEEDBACK:
        raise BatchError.invalid("feedback", f"at most {MAX_FEEDBACK} characters, got "
                                 f"{len(text)}")
    if any(ord(c) < 32 and c not in "\n\t\r" for c in text):
        raise BatchError.invalid("feedback", "must not contain control characters")
    if has_surrogate(text):
        raise BatchError.invalid("feedback", NOT_UNICODE)
    return text or None


def regenerate(session: Session, article_id: int, feedback: object = None) -> Reopened:
    """Queue the article's item again (after the commit) with the editor's feedback. 404 for
    an unknown article, 409 while its item is still being written."""
    text = clean_feedback(feedback)
    article = articles.get_article(session, article_id)
    if article is None:
        raise ArticleNotFound(article_id)
    batch = state.lock_batch(session, article.task_id)
    item = session.get(GenerationItem, article.item_id)
    if batch is None or item is None:
        raise ArticleWithoutItem(article)
    was_cancelled = batch.cancel_requested
    if not state.reopen_for_regeneration(session, batch, item, text):
        raise ArticleBusy(article, item)
    if was_cancelled:
        cancel_flags.clear_cancel(session, batch.id)  # before the item's message goes out
    announce(session, Snapshot.of(batch), item_event(item, ItemStatus.PENDING))
    work.arrived(session)
    log.info("article %s: regeneration queued (batch %s item %s)", article_id, batch.id,
             item.id)
    return Reopened(article_id, batch.id, item.id, str(item.status), article.version, text)
