"""The permission every route declares: `dependencies=[allow(Permission.REVIEW)]`, or
`who: Annotated[Principal, allow(Permission.SUBMIT)]` where the route needs to know who.

The dependency finds the request's principal (a personal token, the page's session cookie or
API_TOKEN), refuses 401 without one and 403 when its role lacks the permission, and leaves it
on `request.state.principal` for the audit trail. Every request looks its token or session up
in the database (no cache): a revoked token, an ended session or a disabled user is refused on
the very next request.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from app.accounts import service
from app.accounts.errors import NotOwner
from app.accounts.permissions import Permission, Role
from app.accounts.principal import SERVICE_ACCOUNT, Principal
from app.config import get_settings
from app.core.db import session_scope

__all__ = ["SESSION_COOKIE", "allow", "cross_site_reason", "declared_permission", "must_own",
           "principal_of"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "ta_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False,
                     description="A personal API token (`ta_...`), or API_TOKEN (the built-in "
                     "admin service account `api-token`)")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="The page's login session (POST /api/login sets it)")

ANONYMOUS = Principal(name="anonymous", role=Role.ADMIN, via="anonymous")


def _service_account(given: str) -> Principal | None:
    expected = get_settings().api_token
    if expected is not None and secrets.compare_digest(
            given.encode(), expected.get_secret_value().encode()):
        return Principal(name=SERVICE_ACCOUNT, role=Role.ADMIN, via="api_token")
    return None


def _lookup(find: Callable[..., service.Found | None], value: str) -> Principal | None:
    """One read per request; a short write only when the token's or session's last use is
    more than a minute old."""
    with session_scope(read_only=True) as session:
        found = find(session, value)
    if found is None:
        return None
    if found.stale_token_id is not None or found.stale_session_id is not None:
        with session_scope() as session:
            service.mark_used(session, found)
    return found.principal


def principal_of(request: Request, credentials: HTTPAuthorizationCredentials | None,
                 cookie: str | None = None) -> Principal | None:
    """The principal behind the request's credentials, or None when they name nobody.

    A bearer token wins over the cookie; a bearer that names nobody is refused even when
    anonymous requests are allowed (a wrong token is a mistake to report)."""
    if credentials is not None:
        given = credentials.credentials
        return _service_account(given) or _lookup(service.find_token, given)
    if cookie:
        principal = _lookup(service.find_session, cookie)
        if principal is not None:
            return principal
    return ANONYMOUS if get_settings().api_allow_unauthenticated else None


def cross_site_reason(request: Request) -> str | None:
    """Why an unsafe request carrying the session cookie looks cross-site, or None.

    Browsers send Sec-Fetch-Site (same-origin, or none when the user typed it); older ones
    at least Origin on a POST. A client that sends neither is not a browser a page can drive."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site in ("same-origin", "none"):
            return None
        return f"Sec-Fetch-Site is {site!r}: state changes with the session cookie must come " \
            "from this site's own page"
    origin = request.headers.get("origin")
    if origin is None or urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower():
        return None
    return f"Origin {origin!r} is not this site: state changes with the session cookie must " \
        "come from this site's own page"


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="authorization: a valid 'Authorization: Bearer <token>' header or a login "
        "session is required",
        headers={"WWW-Authenticate": "Bearer"},
    )


@cache
def _checker(permission: Permission) -> Callable[..., Principal | None]:
    if permission is Permission.PUBLIC:  # no credentials read, none in the OpenAPI schema
        def public() -> None:
            return None

        public.permission = permission  # type: ignore[attr-defined]
        public.__name__ = "allow_public"
        return public

    def check(request: Request,
              credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
              cookie: str | None = Depends(_cookie),
              ) -> Principal | None:
        if permission is Permission.CONTENT:
            return None  # the Content API's own key, if set, is its router's (app/content)
        principal = principal_of(request, credentials, cookie)
        if principal is None:
            raise _unauthorized()
        if principal.via == "session" and request.method not in _SAFE_METHODS:
            reason = cross_site_reason(request)
            if reason is not None:
                raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"origin: {reason}")
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


def must_own(who: Principal, owner: str | None, what: str) -> None:
    """403 unless `who` may act on something `owner` submitted (their own; an admin: any)."""
    if not who.owns(owner):
        raise NotOwner(what, owner, who.name)
