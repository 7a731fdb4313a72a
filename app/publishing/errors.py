"""The publishing domain's errors: one base, a subclass per refusal a caller catches, and
`RemoteError`, what a WordPress site answered, classified as permanent or worth retrying."""

from __future__ import annotations

from app.core.errors import DomainError


class PublishingError(DomainError):
    """Bad target or publish input (422), or the base of the refusals below."""


class TargetNotFound(PublishingError):
    status_code = 404

    def __init__(self, target_id: int) -> None:
        super().__init__("target_id", f"no publishing target {target_id}")
        self.target_id = target_id


class TargetNameTaken(PublishingError):
    status_code = 409

    def __init__(self, name: str) -> None:
        super().__init__("name", "another target already has this name")
        self.name = name


class ArticleNotFound(PublishingError):
    status_code = 404

    def __init__(self, article_id: int) -> None:
        super().__init__("article_id", f"no article {article_id}")
        self.article_id = article_id


class PublicationNotFound(PublishingError):
    status_code = 404

    def __init__(self, publication_id: int) -> None:
        super().__init__("publication_id", f"no publication {publication_id}")
        self.publication_id = publication_id


class NotPublished(PublishingError):
    """Unpublish asked for an article that has no post on this target."""

    status_code = 409

    def __init__(self, article_id: int, target_id: int) -> None:
        super().__init__("target_id", f"article {article_id} has no post on target {target_id}")


class RemoteError(PublishingError):
    """What a WordPress site answered (or did not): `permanent` ones are stored and not retried
    (401/403 and other 4xx, with WordPress's own message); the others back off (429, 5xx,
    timeouts, connection errors), waiting at least `retry_after` seconds when the site said."""

    status_code = 502

    def __init__(self, message: str, *, permanent: bool, http_status: int | None = None,
                 code: str | None = None, retry_after: float | None = None,
                 data: dict | None = None) -> None:
        super().__init__("wordpress", message)
        self.data = data or {}
        self.permanent = permanent
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after
