"""The publishing tests' real WordPress (tests/support/wordpress.py): one site per test session,
or every test that needs it skipped with a loud note when the machine has no WordPress."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import wordpress


@pytest.fixture(scope="session")
def wordpress_site() -> Iterator[wordpress.WordPressSite]:
    reason = wordpress.missing()
    if reason:
        pytest.skip(wordpress.note_skip(reason))
    yield from wordpress.run_site()


@pytest.fixture
def unique() -> str:
    """A suffix that keeps this test's titles and slugs apart from the session's other posts."""
    return secrets.token_hex(3)


@pytest.fixture
def make_target(api: Any, wordpress_site: wordpress.WordPressSite, unique: str) -> Any:
    """Create a target on the test site through the API; settings override the defaults."""

    def make(**settings: Any) -> dict[str, Any]:
        body = {"name": f"test site {unique} {secrets.token_hex(2)}",
                "base_url": wordpress_site.url, "username": wordpress_site.user,
                "app_password": wordpress_site.password, "default_status": "publish",
                **settings}
        response = api.post("/api/targets", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make
