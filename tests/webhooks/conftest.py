"""The address rule for the webhooks unit tests: receivers on 127.0.0.1 allowed, or not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import use_settings


@pytest.fixture
def private_allowed(db: str) -> Iterator[str]:
    """The unit database, with WEBHOOK_ALLOW_PRIVATE=true for this test."""
    use_settings(webhook_allow_private="true")
    yield db
    use_settings(webhook_allow_private=None)


@pytest.fixture
def private_off(db: str) -> Iterator[str]:
    use_settings(webhook_allow_private=None)
    yield db
