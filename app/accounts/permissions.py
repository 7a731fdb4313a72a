"""What a role may do. Every route declares one Permission next to it (app.accounts.auth.allow);
tests/accounts/test_route_permissions.py walks the route table and fails on a route without one.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    """Reads batches, articles, profiles, schedules and costs."""
    EDITOR = "editor"
    """Viewer + submits batches, cancels and retries their own, edits and regenerates articles,
    keeps schedules of their own."""
    REVIEWER = "reviewer"
    """Editor + approves, rejects, publishes and unpublishes articles."""
    ADMIN = "admin"
    """Everything: users, tokens, profiles, budgets, caps, webhooks, targets, every batch."""


class Permission(StrEnum):
    PUBLIC = "public"
    """Anyone, no credentials (liveness, the login form, the page's static files)."""
    READ = "read"
    SUBMIT = "submit"
    """Submit batches; cancel, retry, resume their own; edit and regenerate articles."""
    REVIEW = "review"
    """Approve and reject."""
    PUBLISH = "publish"
    """Publish, schedule, unpublish, send to a publishing target."""
    ADMIN = "admin"
    """Users, tokens of others, profiles, budgets, caps, webhooks, targets, the audit trail."""
    OPS = "ops"
    """Health details and /metrics: an admin, or a token with the `ops` scope (Prometheus)."""
    CONTENT = "content"
    """The public Content API: anyone, or holders of CONTENT_API_KEY when it is set."""


# Each role's permissions; a role has every permission of the roles before it.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.EDITOR: frozenset({Permission.READ, Permission.SUBMIT}),
    Role.REVIEWER: frozenset({Permission.READ, Permission.SUBMIT, Permission.REVIEW,
                              Permission.PUBLISH}),
    Role.ADMIN: frozenset({Permission.READ, Permission.SUBMIT, Permission.REVIEW,
                           Permission.PUBLISH, Permission.ADMIN, Permission.OPS}),
}


def role_allows(role: Role | str, permission: Permission) -> bool:
    if permission in (Permission.PUBLIC, Permission.CONTENT):
        return True
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())
