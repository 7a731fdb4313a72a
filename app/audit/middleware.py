"""The ASGI middleware that appends one audit row per state-changing API request.

Outside the routes' unit of work (app.core.auth.SessionDep): the row is written in a session
of its own once the answer is decided, so a request that failed and was rolled back (4xx,
5xx, a handler that raised) still leaves its row. Installed in app.main inside HttpMetrics and
outside the body-size limit, so a refused 413 is recorded too.

Who: the Principal that `app.accounts.auth.allow` left on `request.state.principal`. A
request refused before that (401, 403) is resolved from its credentials here, and a sign-in
that failed may leave the name it tried on `request.state.attempted_user`.
"""

from __future__ import annotations

import logging
from typing import Any

from anyio import to_thread
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request

from app.accounts.auth import SESSION_COOKIE, principal_of
from app.accounts.principal import Principal
from app.audit import capture, service
from app.audit.capture import Answer, Who
from app.core.db import session_scope

log = logging.getLogger(__name__)

# The key a failed sign-in leaves the name it tried under (request.state.attempted_user).
ATTEMPTED_USER = "attempted_user"


class AuditTrail:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not capture.is_audited(scope):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        answer = Answer()
        body = bytearray()
        size = 0

        async def receive_and_keep() -> dict[str, Any]:
            nonlocal size
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                if len(body) <= capture.MAX_PARSED_BODY:
                    body.extend(chunk)
            return message

        async def send_and_note(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.status = int(message["status"])
                answer.headers = capture.header_map(message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_note)
        finally:
            await to_thread.run_sync(_record, scope, bytes(body), size, answer)


def _principal(scope: dict[str, Any], headers: dict[str, str]) -> Principal | None:
    principal = scope["state"].get("principal")
    if isinstance(principal, Principal):
        return principal
    # Refused before the route's permission check kept it (401/403), or a route without one.
    scheme, token = get_authorization_scheme_param(headers.get("authorization"))
    credentials = None
    if scheme.lower() == "bearer" and token:
        credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
    try:
        request = Request(scope)
        return principal_of(request, credentials, request.cookies.get(SESSION_COOKIE))
    except Exception:  # an unreadable credential is still an anonymous attempt
        return None


def _record(scope: dict[str, Any], body: bytes, size: int, answer: Answer) -> None:
    """Runs in a thread after the answer: one row, its own commit; never fails the request."""
    try:
        headers = capture.header_map(scope.get("headers", []))
        who = Who.of(_principal(scope, headers), scope["state"].get(ATTEMPTED_USER))
        with session_scope() as session:
            service.record(session, capture.entry_of(scope, headers, body, size, answer, who))
    except Exception:
        log.exception("audit: could not record %s %s", scope.get("method"), scope.get("path"))
