"""Role × route: every state-changing route answers each role as its declared permission says.

The expected answer comes from ROLE_PERMISSIONS and the permission the route declares, so a
route declared with the wrong permission fails here as surely as one that checks nothing. Path
ids name nothing and bodies are empty: an allowed role gets 404 or 422 (anything but 401/403),
a refused one 403, no credentials 401."""

from __future__ import annotations

import re
from typing import Any

from app.accounts.permissions import ROLE_PERMISSIONS, Permission, Role
from app.main import app
from tests.accounts.conftest import Account
from tests.accounts.routes import walk

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


# What each state-changing route is meant to need, written down apart from the code: a route
# declared with another permission fails. Routes not listed here (added since) are checked
# against what they declare.
A = "/api/articles/{article_id:int}"
T = "/api/tasks/{task_id}"
INTENDED: dict[tuple[str, str], Permission] = {
    ("POST", "/api/login"): Permission.PUBLIC,
    ("POST", "/api/tasks/generate-articles"): Permission.SUBMIT,
    ("POST", f"{T}/cancel"): Permission.SUBMIT,
    ("POST", f"{T}/retry-failed"): Permission.SUBMIT,
    ("POST", f"{T}/resume"): Permission.SUBMIT,
    ("PATCH", "/api/tasks/{task_id:batch_id}"): Permission.SUBMIT,
    ("POST", f"{A}/approve"): Permission.REVIEW,
    ("POST", f"{A}/reject"): Permission.REVIEW,
    ("POST", f"{A}/publish"): Permission.PUBLISH,
    ("POST", f"{A}/schedule"): Permission.PUBLISH,
    ("POST", f"{A}/unpublish"): Permission.PUBLISH,
    ("PATCH", A): Permission.SUBMIT,
    ("POST", f"{A}/regenerate"): Permission.SUBMIT,
    ("POST", "/api/articles/preview"): Permission.SUBMIT,
    ("POST", "/api/profiles"): Permission.ADMIN,
    ("PATCH", "/api/profiles/{category}"): Permission.ADMIN,
    ("DELETE", "/api/profiles/{category}"): Permission.ADMIN,
    ("POST", "/api/schedules"): Permission.SUBMIT,
    ("PATCH", "/api/schedules/{schedule_id}"): Permission.SUBMIT,
    ("DELETE", "/api/schedules/{schedule_id}"): Permission.SUBMIT,
    ("POST", "/api/users"): Permission.ADMIN,
    ("PATCH", "/api/users/{name}"): Permission.ADMIN,
    ("POST", "/api/tokens"): Permission.READ,
    ("DELETE", "/api/tokens/{token_id}"): Permission.READ,
    ("POST", "/api/webhooks"): Permission.ADMIN,
    ("PATCH", "/api/webhooks/{subscription_id}"): Permission.ADMIN,
    ("DELETE", "/api/webhooks/{subscription_id}"): Permission.ADMIN,
    ("POST", "/api/webhooks/{subscription_id}/rotate-secret"): Permission.ADMIN,
    ("POST", "/api/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"):
        Permission.ADMIN,
    ("POST", "/api/webhooks/{subscription_id}/test"): Permission.ADMIN,
    ("PUT", "/api/limits/{user_name}"): Permission.ADMIN,
    ("POST", "/api/targets"): Permission.ADMIN,
    ("PATCH", "/api/targets/{target_id}"): Permission.ADMIN,
    ("DELETE", "/api/targets/{target_id}"): Permission.ADMIN,
    ("POST", "/api/targets/{target_id}/test"): Permission.ADMIN,
    ("POST", f"{A}/publish-to/{{target_id}}"): Permission.PUBLISH,
    ("POST", f"{A}/unpublish-from/{{target_id}}"): Permission.PUBLISH,
}


def _concrete(path: str) -> str:
    """A path whose ids name nothing: 999999 for integer ids, `nope` for the rest."""
    return _PARAM.sub(lambda m: "999999" if m.group(2) == "int" or m.group(1) == "token_id"
                      else "nope", path)


def _state_changing() -> list[tuple[str, str, Permission]]:
    """(method, path, the permission it must need) of every state-changing route."""
    routes = []
    for path, methods, _route, perms in walk(app):
        for method in sorted(methods & UNSAFE):
            routes.append((method, path, INTENDED.get((method, path), perms[0])))
    return routes


def test_each_listed_route_declares_the_permission_it_is_meant_to() -> None:
    declared = {(m, p): perms[0] for p, methods, _r, perms in walk(app) for m in methods}
    assert {key: declared.get(key) for key in INTENDED} == INTENDED


def _expected(role: Role | None, permission: Permission) -> str:
    if permission in (Permission.PUBLIC, Permission.CONTENT):
        return "allowed"
    if role is None:
        return "401"
    return "allowed" if permission in ROLE_PERMISSIONS[role] else "403"


def _seen(status: int) -> str:
    return str(status) if status in (401, 403) else "allowed"


def test_every_role_gets_what_its_permissions_allow_on_every_state_changing_route(
        client: Any, accounts: dict[str, Account]) -> None:
    routes = _state_changing()
    assert len(routes) >= 20  # the walk found the app's routes
    wrong = []
    for method, path, permission in routes:
        if path == "/api/logout":
            continue  # ends the caller's own session: below, apart
        for role in [None, *Role]:
            headers = accounts[role.value].headers if role else {}
            answer = client.request(method, _concrete(path), headers=headers, json={})
            expected, seen = _expected(role, permission), _seen(answer.status_code)
            if expected != seen:
                wrong.append(f"{method} {path} as {role or 'nobody'}: expected {expected}, "
                             f"got {answer.status_code} {answer.text[:120]}")
    assert wrong == []


def test_anyone_signed_in_may_log_out_and_nobody_else(client: Any,
                                                     accounts: dict[str, Account]) -> None:
    assert client.post("/api/logout").status_code == 401
    for account in accounts.values():
        assert client.post("/api/logout", headers=account.headers).status_code == 204
