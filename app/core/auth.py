"""The request's unit of work every route uses. (Who may call a route: app.accounts.auth.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.db import session_scope

__all__ = ["SessionDep", "get_session"]

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
