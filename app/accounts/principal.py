"""Who a request acts as: the user behind its token or session (or the API_TOKEN service
account), with what it came in by, for permission checks, ownership and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.permissions import Permission, Role, role_allows

# The built-in admin service account API_TOKEN acts as (existing scripts and monitors send it).
SERVICE_ACCOUNT = "api-token"


@dataclass(frozen=True)
class Principal:
    name: str
    """The user's name: a batch's owner, an article's reviewer, the audit trail's `who`."""
    role: Role
    user_id: int | None = None
    """None: the API_TOKEN service account, or anyone when API_ALLOW_UNAUTHENTICATED=true."""
    via: str = "token"
    """token (a personal token), session (the page's cookie), api_token, or anonymous."""
    token_prefix: str | None = None
    """The visible prefix of the token used (never the token)."""
    scopes: frozenset[str] = frozenset()
    """Extra grants of a token, e.g. {"ops"} for Prometheus' scrape token."""

    def can(self, permission: Permission) -> bool:
        if permission is Permission.OPS and "ops" in self.scopes:
            return True
        return role_allows(self.role, permission)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def owns(self, owner: str | None) -> bool:
        """May act on something `owner` submitted: their own, or anything for an admin."""
        return self.is_admin or owner == self.name
