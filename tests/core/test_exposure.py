"""A weak API_TOKEN stops start-up; API_ALLOW_UNAUTHENTICATED beyond loopback is warned about
(app/core/exposure.py). The scripts that start the API are in tests/system/test_exposure.py."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.core.exposure import (
    UnsafeExposure,
    is_loopback,
    refusal,
    require_safe_exposure,
    warning,
)
from app.main import create_app
from tests.support.stack import use_settings


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost",
                                  "LOCALHOST", " 127.0.0.1 "])
def test_loopback_addresses(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.10", "10.0.0.5", "2001:db8::1",
                                  "api.example.com", "0", "127.0.0.1.example.com"])
def test_everything_else_is_not_loopback(host):
    assert not is_loopback(host)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


STRONG = "kq3-ZtP0v9xWc1mRb7yLs2eNu8hA"


@pytest.mark.parametrize("token", ["change-me", "changeme", "CHANGE-ME", "secret", "password",
                                   "Password123!", "token", "test", "s3cret",
                                   "tokentokentokentokentokentoken", "random-but-23-chars-xx1",
                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"])
def test_a_short_or_placeholder_api_token_is_refused_naming_it(token):
    for host in ("127.0.0.1", "0.0.0.0"):
        message = refusal(_settings(api_host=host, api_token=token))
        assert message is not None and "API_TOKEN is too weak" in message
        assert repr(token) not in message  # the secret itself is never printed
        with pytest.raises(UnsafeExposure, match="API_TOKEN"):
            require_safe_exposure(_settings(api_host=host, api_token=token))


def test_any_address_may_serve_without_api_token_since_every_request_needs_credentials():
    assert refusal(_settings(api_host="0.0.0.0")) is None
    assert refusal(_settings(api_host="0.0.0.0", api_token=STRONG)) is None
    assert refusal(_settings(api_host="0.0.0.0", api_token="  ")) is None  # blank is unset
    assert refusal(_settings()) is None


def test_the_opt_in_beyond_loopback_is_warned_about_loudly(caplog):
    assert warning(_settings(api_host="127.0.0.1", api_allow_unauthenticated=True)) is None
    assert warning(_settings(api_host="0.0.0.0", api_allow_unauthenticated=False)) is None
    with caplog.at_level("WARNING", logger="app.core.exposure"):
        require_safe_exposure(_settings(api_host="0.0.0.0", api_allow_unauthenticated="true"))
    assert "API_ALLOW_UNAUTHENTICATED=true on API_HOST='0.0.0.0'" in caplog.text
    assert "admin" in caplog.text


def test_create_app_refuses_a_weak_token_before_it_builds_anything():
    use_settings(api_token="change-me")
    try:
        with pytest.raises(UnsafeExposure, match="API_TOKEN") as refused:
            create_app()
        assert refused.value.code == refused.value.message  # printed alone, exit status 1
        use_settings(api_token=STRONG)
        assert create_app().openapi()["paths"]
    finally:
        use_settings(api_token="")
