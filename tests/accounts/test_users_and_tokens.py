"""/api/users (admins) and /api/tokens (one's own; admins anyone's)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import ApiToken, User
from app.core.db import session_scope
from tests.accounts.conftest import PASSWORD, Account


def test_an_admin_creates_a_user_who_then_logs_in(client: Any,
                                                  accounts: dict[str, Account]) -> None:
    admin = accounts["admin"].headers
    made = client.post("/api/users", headers=admin, json={
        "name": "Li.Na", "role": "reviewer", "display_name": "李娜", "password": PASSWORD})
    assert made.status_code == 201, made.text
    assert made.json()["display_name"] == "李娜" and made.json()["has_password"]
    assert client.post("/api/users", headers=admin, json={"name": "li.na"}).status_code == 409
    with session_scope() as session:  # argon2id, never the password
        stored = session.scalar(select(User.password_hash).where(User.name == "Li.Na"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert client.post("/api/login", json={"name": "li.na", "password": PASSWORD}
                       ).json()["role"] == "reviewer"
    listed = client.get("/api/users", headers=admin).json()
    assert "Li.Na" in [u["name"] for u in listed["items"]]


def test_user_fields_are_bounded_and_named(client: Any, accounts: dict[str, Account]) -> None:
    admin = accounts["admin"].headers
    cases = [({"name": "x"}, "name"), ({"name": "has space"}, "name"),
             ({"name": "ok-name", "password": "short"}, "password"),
             ({"name": "ok-name", "password": "changeme12345"}, "password"),
             ({"name": "ok-name", "password": "passwordpassword"}, "password"),
             ({"name": "ok-name", "role": "owner"}, "role"),
             ({"name": "ok-name", "display_name": "长" * 101}, "display_name"),
             ({"name": "api-token"}, "name")]
    for body, field in cases:
        answer = client.post("/api/users", headers=admin, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["errors"][0]["field"] == field, (body, answer.text)


def test_a_token_is_shown_once_and_stored_hashed(client: Any,
                                                 accounts: dict[str, Account]) -> None:
    editor = accounts["editor"].headers
    made = client.post("/api/tokens", headers=editor,
                       json={"name": "发布脚本", "expires_in_days": 30})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith(made.json()["prefix"]) and len(token) > 40
    listed = client.get("/api/tokens", headers=editor).json()["items"]
    assert {t["name"] for t in listed} == {"tests", "发布脚本"}
    assert all("token" not in t for t in listed)
    with session_scope() as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}
                      ).json()["name"] == "editor-user"
    for bad in ({"name": "x", "expires_in_days": 0}, {"name": "x", "expires_in_days": 3651},
                {"name": ""}, {"name": "x" * 101}):
        assert client.post("/api/tokens", headers=editor, json=bad).status_code == 422


def test_only_admins_manage_other_users_tokens_or_give_scopes(
        client: Any, accounts: dict[str, Account]) -> None:
    editor, admin = accounts["editor"].headers, accounts["admin"].headers
    assert client.get("/api/tokens?user=viewer-user", headers=editor).status_code == 403
    assert client.post("/api/tokens", headers=editor,
                       json={"name": "scrape", "scopes": ["ops"]}).status_code == 403
    scrape = client.post("/api/tokens?user=viewer-user", headers=admin,
                         json={"name": "Prometheus", "scopes": ["ops"]})
    assert scrape.status_code == 201 and scrape.json()["user"] == "viewer-user"
    me = client.get("/api/me", headers={"Authorization": f"Bearer {scrape.json()['token']}"})
    assert "ops" in me.json()["permissions"] and me.json()["role"] == "viewer"
    revoked = client.delete(f"/api/tokens/{scrape.json()['id']}?user=viewer-user", headers=admin)
    assert revoked.status_code == 200 and not revoked.json()["live"]


def test_last_used_is_written_at_most_once_a_minute(client: Any,
                                                     accounts: dict[str, Account]) -> None:
    viewer = accounts["viewer"]

    def last_used() -> Any:
        with session_scope() as session:
            return session.scalar(select(ApiToken.last_used_at).where(
                ApiToken.prefix == viewer.token[:11]))

    assert last_used() is None
    client.get("/api/me", headers=viewer.headers)
    first = last_used()
    assert first is not None
    client.get("/api/me", headers=viewer.headers)
    assert last_used() == first
