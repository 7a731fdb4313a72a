"""The batches domain's errors: one base, and a subclass per failure a caller may catch.

`BatchError` is what the domain raises for bad input (422, `BatchError.invalid(field, ...)`,
app.batches.validation). Every refusal that depends on a batch's state or existence has its own
type below, carrying the object it is about, so a caller catches exactly what it handles
(app.batches.resume catches `BatchNotFound` and `BatchNotPaused`, nothing else) and the message
and HTTP status live in one place. One handler in app.main turns any of them into the API's
error shape (app.core.errors.DomainError).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.errors import DomainError

if TYPE_CHECKING:
    from app.articles.models import Article
    from app.batches.models import AIGenerationTask, GenerationItem


class BatchError(DomainError):
    """Bad batch input (422), or the base of the refusals below."""


# --- 404 ---------------------------------------------------------------------------------


class BatchNotFound(BatchError):
    status_code = 404

    def __init__(self, batch_id: str) -> None:
        super().__init__("task_id", f"no batch {batch_id!r}")
        self.batch_id = batch_id


class ArticleNotFound(BatchError):
    """An article to regenerate does not exist."""

    status_code = 404

    def __init__(self, article_id: int) -> None:
        super().__init__("article_id", f"no article {article_id}")
        self.article_id = article_id


class ArticleWithoutItem(BatchError):
    """An article whose batch or item is gone: there is nothing to run again."""

    status_code = 404

    def __init__(self, article: Article) -> None:
        super().__init__("article_id", f"article {article.id} has no batch item")
        self.article = article


# --- 409: the batch's state forbids it ------------------------------------------------------


class BatchEnded(BatchError):
    """Cancel or change a batch that already ended."""

    status_code = 409

    def __init__(self, batch: AIGenerationTask) -> None:
        super().__init__("task_id", f"batch {batch.id} already ended with status {batch.status}")
        self.batch = batch


class BatchRunning(BatchError):
    """Retry the failed items of a batch that has not ended (running or paused)."""

    status_code = 409

    def __init__(self, batch: AIGenerationTask) -> None:
        super().__init__("task_id", f"batch {batch.id} is still {batch.status}; wait for it to "
                         "end")
        self.batch = batch


class BatchCancelled(BatchError):
    """Retry the failed items of a cancelled batch."""

    status_code = 409

    def __init__(self, batch: AIGenerationTask) -> None:
        super().__init__("task_id", f"batch {batch.id} was cancelled; submit its titles again "
                         "instead")
        self.batch = batch


class NothingToRetry(BatchError):
    status_code = 409

    def __init__(self, batch: AIGenerationTask) -> None:
        super().__init__("task_id", f"batch {batch.id} has no failed items")
        self.batch = batch


class BatchNotPaused(BatchError):
    """Resume a batch that is not paused (it resumed, was cancelled, or never paused)."""

    status_code = 409

    def __init__(self, batch: AIGenerationTask) -> None:
        super().__init__("task_id", f"batch {batch.id} is {batch.status}, not paused")
        self.batch = batch


class BatchStillOverCap(BatchError):
    """An editor's resume that would pause again at once: `reason` names the cap."""

    status_code = 409

    def __init__(self, batch: AIGenerationTask, reason: str) -> None:
        super().__init__("task_id", f"batch {batch.id} would pause again: {reason}")
        self.batch = batch
        self.reason = reason


class IdempotencyConflict(BatchError):
    """An Idempotency-Key seen before, for a different request; `batch` is the earlier one."""

    status_code = 409

    def __init__(self, batch: AIGenerationTask) -> None:
        super().__init__("idempotency-key",
                         "this Idempotency-Key was already used for a different batch")
        self.batch = batch


class ArticleBusy(BatchError):
    """Regenerate an article whose item is still being written."""

    status_code = 409

    def __init__(self, article: Article, item: GenerationItem) -> None:
        super().__init__("article_id", f"article {article.id} is being written already (its "
                         f"item is {item.status}); wait for it to end")
        self.article = article
        self.item = item


class SubmitLimitReached(BatchError):
    """The owner submitted as much as their hourly limit allows: 429, `retry_after` seconds
    until enough of the last hour's submissions leave the window."""

    status_code = 429

    def __init__(self, field: str, message: str, retry_after: int) -> None:
        super().__init__(field, message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
