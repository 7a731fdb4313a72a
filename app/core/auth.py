"""Route dependencies every domain uses: the request's unit of work and bearer-token auth."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.config import get_settings
from app.core.db import session_scope

__all__ = ["SessionDep", "get_session", "require_token", "token_from_header_or_query"]

def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request, committed when the handler returns.

    GET and HEAD requests read only (a GET must not change state), so they get read-only
    sessions: polling /progress and /status never queues behind the workers' writes.
    """
    with session_scope(read_only=request.method in ("GET", "HEAD")) as session:
        yield session


# The request's unit of work: committed as soon as the handler returns (scope="function"),
# before the response goes out, so the outbox's messages are sent and a client that reads
# right after a 202 finds what it was told about. An error rolls it back.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="API_TOKEN, when the server sets one")


def require_token(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    expected = get_settings().api_token
    if expected is None:
        return
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="authorization: a valid 'Authorization: Bearer <API_TOKEN>' header is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


def token_from_header_or_query(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    token: str | None = Query(
        None,
        max_length=512,
        description="API_TOKEN, for clients that cannot send headers (the browser's "
        "EventSource). Prefer the Authorization header elsewhere.",
    ),
) -> None:
    if credentials is None and token:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    require_token(credentials)


class _RedactToken(logging.Filter):
    """Keep `?token=` out of the access log (uvicorn logs the full path with its query)."""

    PATTERN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            record.args = tuple(
                self.PATTERN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


logging.getLogger("uvicorn.access").addFilter(_RedactToken())
