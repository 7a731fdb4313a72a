"""The permission every route declares: `dependencies=[allow(Permission.REVIEW)]`, or
`who: Annotated[Principal, allow(Permission.SUBMIT)]` where the route needs to know who.

The dependency finds the request's principal (a personal token, the page's session cookie or
API_TOKEN), refuses 401 without one and 403 when its role lacks the permission, and leaves it
on `request.state.principal` for the audit trail.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import cache
from typing import Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.accounts.permissions import Permission, Role
from app.accounts.principal import SERVICE_ACCOUNT, Principal
from app.config import get_settings

__all__ = ["allow", "declared_permission", "principal_of"]

_bearer = HTTPBearer(auto_error=False,
                     description="A personal API token, or API_TOKEN (the service account)")

ANONYMOUS = Principal(name="anonymous", role=Role.ADMIN, via="anonymous")


def principal_of(request: Request,
                 credentials: HTTPAuthorizationCredentials | None) -> Principal | None:
    """The principal behind the request's credentials, or None when they name nobody."""
    expected = get_settings().api_token
    if expected is None:
        return ANONYMOUS
    given = credentials.credentials if credentials else ""
    if secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        return Principal(name=SERVICE_ACCOUNT, role=Role.ADMIN, via="api_token")
    return None


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="authorization: a valid 'Authorization: Bearer <token>' header or a login "
        "session is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


@cache
def _checker(permission: Permission) -> Callable[..., Principal | None]:
    def check(request: Request,
              credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
              ) -> Principal | None:
        if permission in (Permission.PUBLIC, Permission.CONTENT):
            return None  # the Content API's own key, if set, is its router's (app/content)
        principal = principal_of(request, credentials)
        if principal is None:
            raise _unauthorized()
        if not principal.can(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"permission: {principal.role} may not {permission}")
        request.state.principal = principal
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    check.__name__ = f"allow_{permission}"
    return check


def allow(permission: Permission) -> Any:
    """The route's declared permission, as a dependency (it yields the Principal)."""
    return Depends(_checker(permission))


def declared_permission(call: Any) -> Permission | None:
    return getattr(call, "permission", None)
