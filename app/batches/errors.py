"""The batches domain's one error type."""

from __future__ import annotations

from app.core.errors import DomainError


class BatchError(DomainError):
    """Bad batch input (422), an unknown batch (404) or a request its state forbids (409)."""
