"""Who a request acts as: personal tokens, API_TOKEN, the session cookie, nobody."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.accounts import throttle
from app.accounts.errors import LoginThrottled
from app.accounts.models import ApiToken
from app.accounts.permissions import Role
from app.accounts.throttle import LOGIN_FAILURES
from app.config import Settings
from app.core.db import session_scope
from app.core.exposure import UnsafeExposure, require_safe_exposure
from app.core.models import utcnow
from tests.accounts.conftest import PASSWORD, Account, make_account
from tests.support.stack import use_settings


def test_without_credentials_the_api_answers_401(client: Any) -> None:
    answer = client.get("/api/tasks")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/health/live").status_code == 200
    assert client.get("/").status_code == 200  # the page: it shows the login form


def test_a_personal_token_acts_as_its_user(client: Any, accounts: dict[str, Account]) -> None:
    me = client.get("/api/me", headers=accounts["editor"].headers).json()
    assert (me["name"], me["role"], me["via"]) == ("editor-user", "editor", "token")
    assert me["token_prefix"] == accounts["editor"].token[:11]
    assert client.get("/api/me", headers={"Authorization": "Bearer ta_nope_nope"}
                      ).status_code == 401


def test_a_revoked_token_is_refused_on_the_next_request(client: Any,
                                                        accounts: dict[str, Account]) -> None:
    editor = accounts["editor"]
    tokens = client.get("/api/tokens", headers=editor.headers).json()["items"]
    assert client.delete(f"/api/tokens/{tokens[0]['id']}", headers=editor.headers
                         ).status_code == 200
    assert client.get("/api/me", headers=editor.headers).status_code == 401


def test_a_disabled_user_is_refused_on_the_next_request(client: Any,
                                                       accounts: dict[str, Account]) -> None:
    viewer, admin = accounts["viewer"], accounts["admin"]
    login = client.post("/api/login", json={"name": viewer.name, "password": PASSWORD})
    assert login.status_code == 200
    assert client.get("/api/me").json()["via"] == "session"
    assert client.patch(f"/api/users/{viewer.name}", json={"disabled": True},
                        headers=admin.headers).status_code == 200
    assert client.get("/api/me").status_code == 401  # the session
    assert client.get("/api/me", headers=viewer.headers).status_code == 401  # the token
    assert client.post("/api/login", json={"name": viewer.name, "password": PASSWORD}
                       ).status_code == 401


def test_login_sets_a_strict_httponly_cookie_and_logout_ends_it(client: Any) -> None:
    account = make_account("zhang.wei", Role.REVIEWER, display_name="张伟")
    login = client.post("/api/login", json={"name": "Zhang.Wei", "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["display_name"] == "张伟"
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("ta_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    value = client.cookies["ta_session"]
    assert client.get("/api/me").json()["name"] == account.name
    assert client.post("/api/logout").status_code == 204
    client.cookies.set("ta_session", value)  # a copy kept elsewhere is dead too
    assert client.get("/api/me").status_code == 401


def test_a_cross_site_post_with_the_cookie_is_refused(client: Any,
                                                     accounts: dict[str, Account]) -> None:
    client.post("/api/login", json={"name": "editor-user", "password": PASSWORD})
    body = {"titles": ["Cross-site"], "category": "guide"}
    refused = client.post("/api/tasks/generate-articles", json=body,
                          headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert "Sec-Fetch-Site" in refused.json()["detail"]
    evil = client.post("/api/tasks/generate-articles", json=body,
                       headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "Origin" in evil.json()["detail"]
    same = client.post("/api/tasks/generate-articles", json=body,
                       headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 202, same.text
    assert same.json()["owner"] == "editor-user"


def test_an_unknown_host_is_refused(client: Any) -> None:
    answer = client.get("/api/health/live", headers={"Host": "rebound.example"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "host"


def test_api_token_acts_as_the_built_in_admin(client: Any) -> None:
    token = "a-long-random-deployment-token-0123456789"
    use_settings(api_token=token)
    try:
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert (me["name"], me["role"], me["via"]) == ("api-token", "admin", "api_token")
        assert client.get("/api/me", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
    finally:
        use_settings(api_token="")


def _failures(reason: str) -> float:
    return LOGIN_FAILURES.labels(reason)._value.get()


def test_repeated_wrong_passwords_are_locked_out(client: Any) -> None:
    make_account("guessed", Role.VIEWER)
    wrong_before, locked_before = _failures("wrong"), _failures("locked")
    answers = [client.post("/api/login", json={"name": "guessed", "password": f"wrong-{i}"})
               for i in range(6)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    locked = answers[5]
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # Even the right password waits out the lock.
    right = client.post("/api/login", json={"name": "guessed", "password": PASSWORD})
    assert right.status_code == 429
    # Counted for /metrics: five wrong passwords, two refusals while locked.
    assert _failures("wrong") - wrong_before == 5
    assert _failures("locked") - locked_before == 2
    # The lock is for this name from this address (the test client's): not another address.
    with pytest.raises(LoginThrottled):
        throttle.check("guessed", "testclient")
    throttle.check("guessed", "198.51.100.7")
    throttle.check("someone-else", "testclient")


def test_a_placeholder_or_short_api_token_stops_start_up() -> None:
    for weak in ("change-me", "changeme", "secret", "password", "token", "test",
                 "short-but-random-x1"):
        with pytest.raises(UnsafeExposure, match="API_TOKEN is too weak"):
            require_safe_exposure(Settings(api_token=weak))
    require_safe_exposure(Settings(api_token="kq3-ZtP0v9xWc1mRb7yLs2eNu8hA"))
    require_safe_exposure(Settings(api_token=None))


def test_with_the_opt_in_anonymous_requests_act_as_an_admin(client: Any) -> None:
    use_settings(api_allow_unauthenticated="true")
    try:
        me = client.get("/api/me").json()
        assert (me["name"], me["role"], me["via"]) == ("anonymous", "admin", "anonymous")
        # A wrong token is still refused: it is a mistake to report, not anonymity.
        assert client.get("/api/me", headers={"Authorization": "Bearer ta_wrong"}
                          ).status_code == 401
    finally:
        use_settings(api_allow_unauthenticated="false")


def test_a_cross_site_login_is_refused(client: Any) -> None:
    make_account("far.away", Role.VIEWER)
    answer = client.post("/api/login", json={"name": "far.away", "password": PASSWORD},
                         headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_an_expired_token_is_refused(client: Any, accounts: dict[str, Account]) -> None:
    viewer = accounts["viewer"]
    assert client.get("/api/me", headers=viewer.headers).status_code == 200
    with session_scope() as session:
        session.execute(update(ApiToken).where(ApiToken.prefix == viewer.token[:11])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/me", headers=viewer.headers).status_code == 401
    listed = client.get("/api/tokens?user=viewer-user", headers=accounts["admin"].headers)
    assert listed.json()["items"][0]["live"] is False


def test_over_https_the_cookie_is_secure(client: Any) -> None:
    make_account("secure.one", Role.VIEWER)
    login = client.post("https://testserver/api/login",
                        json={"name": "secure.one", "password": PASSWORD})
    assert login.status_code == 200 and "Secure" in login.headers["set-cookie"]
