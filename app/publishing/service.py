"""Publications: an article asked onto a target, its attempts and what the site answered.

Every change of a publication's state is a function here; the sends themselves are
app.publishing.delivery's (a worker, on the `publishing` queue), queued after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.articles import events as article_events
from app.articles import repository as articles
from app.articles.models import Article
from app.core import names, outbox
from app.core.models import utcnow
from app.publishing import repository, targets
from app.publishing.draft import PostDraft, draft_for
from app.publishing.enums import (
    AUTO_PUBLISH_EVENT,
    STATE_OF_REMOTE,
    ArticleEvent,
    PostStatus,
    PublicationState,
    UnpublishAction,
)
from app.publishing.errors import (
    ArticleNotFound,
    NotPublished,
    PublicationNotFound,
    PublishingError,
    RemoteError,
)
from app.publishing.models import Publication
from app.publishing.remote import Sent, utc
from app.publishing.wordpress import Site
from app.webhooks.enums import EventType

# Attempts of one publish before it is `failed` (transient errors only; permanent ones stop at
# the first), and the back-off between them: 10 s, 20 s, 40 s ... at most 10 minutes, or the
# site's Retry-After when it is longer.
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 10.0
BACKOFF_MAX_SECONDS = 600.0
# A queued send this long overdue lost its message or its worker (longer than the slowest send:
# a handful of requests of at most 20 s each).
LOST_AFTER_SECONDS = 300.0


@dataclass(frozen=True)
class Attempt:
    """What a worker needs to send one publication, read in one short transaction."""

    publication_id: int
    target_key: str
    site: Site
    require_https: bool
    draft: PostDraft
    remote_id: int | None
    unpublish_action: UnpublishAction
    version: int


def _schedule_error(status: PostStatus, date_gmt: datetime | None) -> str | None:
    if status is PostStatus.FUTURE:
        if date_gmt is None:
            return "status future needs a date_gmt"
        if date_gmt <= utcnow():
            # WordPress would silently publish a `future` post dated in the past.
            return "must be in the future for status future (send status publish to " \
                   "publish now)"
    return None


def _upsert(session: Session, article_id: int, target_id: int) -> Publication:
    publication = repository.publication_of(session, article_id, target_id)
    if publication is not None:
        return publication
    try:
        with session.begin_nested():
            publication = Publication(article_id=article_id, target_id=target_id, attempts=0)
            session.add(publication)
            session.flush()
    except IntegrityError:  # a concurrent request created it: one row per article and target
        publication = repository.publication_of(session, article_id, target_id)
        assert publication is not None
    return publication


def request_publish(session: Session, article_id: int, target_id: int, *,
                    status: PostStatus | None = None,
                    date_gmt: datetime | None = None) -> Publication:
    """Queue the article's (current version's) send to the target; a second request updates
    the same post. `future` needs a `date_gmt` in the future (refused otherwise)."""
    target = targets.get_or_404(session, target_id)
    if articles.get_article(session, article_id) is None:
        raise ArticleNotFound(article_id)
    date_gmt = utc(date_gmt)
    error = _schedule_error(status or PostStatus(target.default_status), date_gmt)
    if error:
        raise PublishingError("date_gmt", error)
    publication = _upsert(session, article_id, target_id)
    publication.state = PublicationState.QUEUED
    publication.requested_status = status.value if status else None
    publication.date_gmt = date_gmt
    publication.attempts = 0
    publication.last_error = None
    publication.requested_at = publication.next_attempt_at = utcnow()
    session.flush()
    outbox.enqueue(session, names.PUSH_PUBLICATION_TASK, [publication.id])
    return publication


def request_unpublish(session: Session, article_id: int, target_id: int) -> Publication:
    """Move the article's post on the target to draft or the trash (the target's setting)."""
    targets.get_or_404(session, target_id)
    publication = repository.publication_of(session, article_id, target_id)
    if publication is None or publication.remote_id is None:
        raise NotPublished(article_id, target_id)
    publication.attempts = 0
    publication.last_error = None
    session.flush()
    outbox.enqueue(session, names.WITHDRAW_PUBLICATION_TASK, [publication.id])
    return publication


def on_article_event(session: Session, article_id: int, event: ArticleEvent | str
                     ) -> list[Publication]:
    """Queue the article for every target whose auto-publish answers `event` (approved,
    published). A target whose default is `future` without a date is recorded failed, named."""
    event = ArticleEvent(event)
    queued = []
    for setting, answers in AUTO_PUBLISH_EVENT.items():
        if answers is not event:
            continue
        for target in repository.targets_with_auto_publish(session, setting):
            try:
                queued.append(request_publish(session, article_id, target.id))
            except PublishingError as exc:
                publication = _upsert(session, article_id, target.id)
                publication.state = PublicationState.FAILED
                publication.last_error = str(exc)
                queued.append(publication)
    session.flush()
    return queued


# The article events auto-publishing answers (the rest, e.g. needs_review, are not ours).
_ANSWERED = {EventType.ARTICLE_APPROVED: ArticleEvent.APPROVED,
             EventType.ARTICLE_PUBLISHED: ArticleEvent.PUBLISHED}


def _article_event(session: Session, article: Article, event: EventType) -> None:
    """An approve or a publish (now or on schedule) queues the targets that auto-publish on it,
    in the transaction that made it true: the send leaves after that commit (the outbox)."""
    answered = _ANSWERED.get(event)
    if answered is not None:
        on_article_event(session, article.id, answered)


article_events.subscribe(_article_event)


def get_or_404(session: Session, publication_id: int) -> Publication:
    publication = repository.get_publication(session, publication_id)
    if publication is None:
        raise PublicationNotFound(publication_id)
    return publication


def publications(session: Session, article_id: int) -> Sequence[Publication]:
    if articles.get_article(session, article_id) is None:
        raise ArticleNotFound(article_id)
    return repository.publications_of(session, article_id)


def requeue_lost(session: Session, *, older_than: float = LOST_AFTER_SECONDS) -> list[int]:
    """Send again every queued publication whose send is overdue by `older_than` seconds: its
    message was lost (the broker restarted, or the send after the commit failed) or its worker
    died mid-send. A send of one already under way is harmless: they take turns, and a post
    WordPress created is found by its marker."""
    now = utcnow()
    lost = repository.overdue(session, PublicationState.QUEUED,
                              now - timedelta(seconds=older_than))
    for publication in lost:
        publication.next_attempt_at = now
        outbox.enqueue(session, names.PUSH_PUBLICATION_TASK, [publication.id])
    session.flush()
    return [p.id for p in lost]


# --- a worker's transitions ----------------------------------------------------------------

def begin_attempt(session: Session, publication_id: int, *, withdraw: bool = False
                  ) -> Attempt | None:
    """Count an attempt and read what to send; None when there is nothing to do (the row, its
    article or target is gone, or the publication is not waiting: a message delivered twice)."""
    publication = repository.get_publication(session, publication_id)
    if publication is None:
        return None
    if not withdraw and publication.state != PublicationState.QUEUED:
        return None
    article = articles.get_article(session, publication.article_id)
    if article is None:
        return None
    if publication.attempts >= MAX_ATTEMPTS:  # sends that died without an answer count too
        publication.state = PublicationState.FAILED
        publication.last_error = (publication.last_error or "no answer") + \
            f" (gave up after {publication.attempts} attempts)"
        session.flush()
        return None
    target = publication.target
    draft = draft_for(article, target)
    if publication.requested_status:
        draft = replace(draft, status=PostStatus(publication.requested_status))
    draft = replace(draft, date_gmt=utc(publication.date_gmt))
    publication.attempts += 1
    publication.next_attempt_at = utcnow()  # a worker that dies now leaves it to requeue_lost
    session.flush()
    return Attempt(publication.id, target.key, targets.site_of(target), target.require_https,
                   draft, publication.remote_id, UnpublishAction(target.unpublish_action),
                   article.version)


def record_sent(session: Session, attempt: Attempt, sent: Sent) -> None:
    publication = repository.get_publication(session, attempt.publication_id)
    if publication is None:
        return
    publication.remote_id = sent.remote_id
    publication.remote_url = sent.url
    publication.remote_status = sent.status
    publication.state = STATE_OF_REMOTE.get(sent.status, PublicationState.SENT)
    publication.version_sent = attempt.version
    publication.note = sent.note
    publication.last_error = None
    publication.sent_at = utcnow()
    session.flush()


def record_withdrawn(session: Session, attempt: Attempt, remote_status: str) -> None:
    publication = repository.get_publication(session, attempt.publication_id)
    if publication is None:
        return
    publication.state = PublicationState.WITHDRAWN
    publication.remote_status = remote_status
    publication.last_error = None
    session.flush()


def backoff(attempts: int, error: RemoteError) -> float:
    delay = min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, error.retry_after or 0.0)


def record_failure(session: Session, attempt: Attempt, error: RemoteError, task: str
                   ) -> float | None:
    """A permanent error, or the last attempt: `failed` with the site's message. Otherwise the
    task is sent again after a back-off (returned, in seconds)."""
    publication = repository.get_publication(session, attempt.publication_id)
    if publication is None:
        return None
    publication.last_error = error.message
    if error.permanent or publication.attempts >= MAX_ATTEMPTS:
        publication.state = PublicationState.FAILED
        session.flush()
        return None
    delay = backoff(publication.attempts, error)
    publication.next_attempt_at = utcnow() + timedelta(seconds=delay)
    session.flush()
    outbox.enqueue(session, task, [publication.id], countdown=delay)
    return delay
