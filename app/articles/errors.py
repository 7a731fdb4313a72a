"""The articles domain's one error type."""

from __future__ import annotations

from app.core.errors import DomainError


class ArticleError(DomainError):
    """An unknown article (404), bad input (422) or a transition its state forbids (409)."""
