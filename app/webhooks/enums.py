"""The events a subscription can ask for, and where a delivery stands."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    BATCH_COMPLETED = "batch.completed"
    """Every item of the batch ended; `data.status` is completed or partially_completed."""
    BATCH_FAILED = "batch.failed"
    BATCH_CANCELLED = "batch.cancelled"
    BATCH_PAUSED = "batch.paused"
    """A budget cap paused the batch; `data.paused_reason` says which."""
    ARTICLE_NEEDS_REVIEW = "article.needs_review"
    ARTICLE_APPROVED = "article.approved"
    ARTICLE_PUBLISHED = "article.published"
    ARTICLE_UNPUBLISHED = "article.unpublished"
    WEBHOOK_TEST = "webhook.test"
    """The ping of POST /api/webhooks/{id}/test: sent to that subscription only."""


# What a subscription may list (the test ping is not subscribed to).
SUBSCRIBABLE: tuple[EventType, ...] = tuple(e for e in EventType if e is not EventType.WEBHOOK_TEST)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its next attempt (`next_attempt_at`)."""
    SUCCEEDED = "succeeded"
    """The receiver answered 2xx in time."""
    FAILED = "failed"
    """Every attempt of the retry schedule failed, or its subscription was disabled."""
