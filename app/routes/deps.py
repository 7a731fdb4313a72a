"""Shared route dependencies: the database session and bearer-token auth."""

from __future__ import annotations

import secrets

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import get_settings
from app.db import get_session

__all__ = ["get_session", "require_token"]

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
