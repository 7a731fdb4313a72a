"""What a WordPress answer means for the next step: permanent (stored, never retried) or worth
retrying (after a back-off, or the site's Retry-After); and the password masked everywhere."""

from __future__ import annotations

import base64
import socket

import httpx
import pytest

from app.publishing.errors import RemoteError
from app.publishing.service import BACKOFF_MAX_SECONDS, backoff
from app.publishing.wordpress import MASK, Site, WordPress, classify, mask, retry_after


@pytest.mark.parametrize(("status", "permanent"), [
    (400, True), (401, True), (403, True), (404, True), (409, True), (422, True),
    (408, False), (429, False), (500, False), (502, False), (503, False), (504, False),
])
def test_4xx_are_permanent_and_429_5xx_are_retried(status: int, permanent: bool) -> None:
    assert classify(status, {"code": "x", "message": "m"}, {}).permanent is permanent


def test_the_message_is_wordpress_own() -> None:
    error = classify(401, {"code": "incorrect_password", "message": "The password is wrong.",
                           "data": {"status": 401}}, {})
    assert error.code == "incorrect_password"
    assert error.message.startswith("HTTP 401 incorrect_password: The password is wrong.")
    assert "Application Password" in error.message  # and what to check


def test_html_instead_of_json_says_so() -> None:
    error = classify(404, None, {})
    assert "HTML, not JSON" in error.message and error.permanent


def test_term_exists_keeps_the_existing_term() -> None:
    error = classify(400, {"code": "term_exists", "message": "exists",
                           "data": {"status": 400, "term_id": 42}}, {})
    assert error.data["term_id"] == 42


def test_retry_after_is_honoured_and_capped() -> None:
    busy = classify(429, {"code": "too_many"}, {"retry-after": "120"})
    assert busy.retry_after == 120.0
    assert backoff(1, busy) == 120.0
    assert retry_after("999999") == 3600.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    assert retry_after("soon") is None
    assert classify(401, {}, {"retry-after": "60"}).retry_after is None  # permanent anyway


def test_backoff_grows_and_is_capped() -> None:
    error = RemoteError("HTTP 503", permanent=False)
    delays = [backoff(n, error) for n in range(1, 12)]
    assert delays == sorted(delays) and delays[0] == 10.0
    assert delays[-1] == BACKOFF_MAX_SECONDS


def test_the_password_is_masked_in_every_form() -> None:
    password = "abcd EFGH ijkl MNOP"
    basic = base64.b64encode(b"bot:" + password.encode()).decode()
    text = f"{password} / {password.replace(' ', '')} / Basic {basic}"
    masked = mask(text, password)
    assert password not in masked and "abcdEFGH" not in masked
    assert masked.count(MASK) >= 2


def test_a_timeout_is_retried_and_names_no_secret() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        site = Site(f"http://127.0.0.1:{silent.getsockname()[1]}", "bot", "secret pass word")
        with (WordPress(site, timeout=httpx.Timeout(0.2)) as wp,
              pytest.raises(RemoteError) as err):
            wp.me()
    assert err.value.permanent is False
    assert "secret" not in str(err.value)
