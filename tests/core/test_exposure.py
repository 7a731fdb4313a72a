"""API_HOST beyond loopback without API_TOKEN is refused, unless API_ALLOW_UNAUTHENTICATED says
it is meant (app/core/exposure.py). The scripts that start the API are in
tests/system/test_exposure.py."""

from __future__ import annotations

import pytest

from app.config import Settings
from app.core.exposure import UnsafeExposure, is_loopback, refusal, require_safe_exposure
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


def test_a_non_loopback_host_without_a_token_is_refused_naming_api_token():
    for host in ("0.0.0.0", "::", "192.168.1.10"):
        message = refusal(_settings(api_host=host))
        assert message is not None and "API_TOKEN" in message and repr(host) in message
        assert "API_ALLOW_UNAUTHENTICATED=true" in message
        with pytest.raises(UnsafeExposure, match="API_TOKEN"):
            require_safe_exposure(_settings(api_host=host))


def test_a_token_or_an_explicit_allowance_or_loopback_is_accepted():
    assert refusal(_settings(api_host="0.0.0.0", api_token="s3cret")) is None
    assert refusal(_settings(api_host="0.0.0.0", api_allow_unauthenticated=True)) is None
    assert refusal(_settings(api_host="0.0.0.0", api_allow_unauthenticated="true")) is None
    assert refusal(_settings(api_host="127.0.0.1")) is None
    assert refusal(_settings()) is None  # the default binds to loopback
    # A blank token is no token.
    assert refusal(_settings(api_host="0.0.0.0", api_token="  ")) is not None


def test_create_app_refuses_before_it_builds_anything():
    use_settings(api_host="0.0.0.0")
    try:
        with pytest.raises(UnsafeExposure, match="API_TOKEN") as refused:
            create_app()
        assert refused.value.code == refused.value.message  # printed alone, exit status 1
        use_settings(api_allow_unauthenticated="true")
        assert create_app().openapi()["paths"]
    finally:
        use_settings(api_host=None, api_allow_unauthenticated=None)
