"""Accounts tests run with authentication on (the rest of the suite opts out through
BASE_ENV's API_ALLOW_UNAUTHENTICATED=true)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.accounts import service
from app.accounts.permissions import Role
from app.core.db import session_scope
from tests.support.stack import use_settings

PASSWORD = "correct horse battery 马"


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_account(name: str, role: Role, *, password: str | None = PASSWORD,
                 display_name: str | None = None) -> Account:
    with session_scope() as session:
        user = service.create_user(session, name, role, password=password,
                                   display_name=display_name)
        _row, token = service.create_token(session, user, "tests", scopes=[],
                                           expires_in_days=None)
    return Account(name, role, token)


@pytest.fixture
def secured(database: str) -> Iterator[None]:
    """Authentication required (no anonymous admin) for this test."""
    before = os.environ.get("API_ALLOW_UNAUTHENTICATED")
    use_settings(api_allow_unauthenticated="false")
    yield
    use_settings(api_allow_unauthenticated=before)


@pytest.fixture
def accounts(secured: None) -> dict[str, Account]:
    """One user per role, each with a personal token."""
    return {role.value: make_account(f"{role.value}-user", role) for role in Role}


@pytest.fixture
def client(api: Any, secured: None) -> Any:
    """The API with no credentials of its own (each request brings its own)."""
    api.cookies.clear()
    return api
