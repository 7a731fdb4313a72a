"""The publishing domain's vocabularies: WordPress post statuses, what a target does, and the
state of one article's publication on one target."""

from __future__ import annotations

from enum import StrEnum


class PostStatus(StrEnum):
    """The WordPress statuses we send (`future` needs a `date_gmt` in the future)."""

    DRAFT = "draft"
    PENDING = "pending"
    FUTURE = "future"
    PUBLISH = "publish"


class UnpublishAction(StrEnum):
    DRAFT = "draft"
    """The post goes back to draft (kept, hidden)."""
    TRASH = "trash"
    """The post goes to WordPress's trash (restorable there for 30 days)."""


class AutoPublish(StrEnum):
    ON_APPROVE = "on_approve"
    """Queued when an editor approves an article."""
    ON_PUBLISH = "on_publish"
    """Queued when an article is published (now, or at its `publish_at`)."""
    MANUAL = "manual"
    """Only when someone pushes it (API, page, CLI)."""


class ArticleEvent(StrEnum):
    """What happened to an article, for `service.on_article_event`."""

    APPROVED = "approved"
    PUBLISHED = "published"


# Which event each auto-publish setting answers.
AUTO_PUBLISH_EVENT = {AutoPublish.ON_APPROVE: ArticleEvent.APPROVED,
                      AutoPublish.ON_PUBLISH: ArticleEvent.PUBLISHED}


class PublicationState(StrEnum):
    QUEUED = "queued"
    """Waiting for (or being sent by) a worker, retries included."""
    SENT = "sent"
    """The post exists on the site as a draft or pending review."""
    SCHEDULED = "scheduled"
    """The post exists with status `future`: WordPress publishes it at its `date_gmt`."""
    LIVE = "live"
    """The post is published."""
    FAILED = "failed"
    """A permanent error, or the retries ran out: `last_error` says why."""
    WITHDRAWN = "withdrawn"
    """Unpublished: the post went back to draft or to the trash (the target's setting)."""


# WordPress's status of the post we sent, as our state.
STATE_OF_REMOTE = {"draft": PublicationState.SENT, "pending": PublicationState.SENT,
                   "private": PublicationState.SENT, "future": PublicationState.SCHEDULED,
                   "publish": PublicationState.LIVE}
