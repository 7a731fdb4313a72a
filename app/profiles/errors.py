"""The profiles domain's one error type."""

from __future__ import annotations

from app.core.errors import DomainError


class ProfileError(DomainError):
    """Bad profile input (422), no such stored profile (404) or one that exists already (409)."""
