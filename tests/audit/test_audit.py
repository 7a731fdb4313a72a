"""The audit trail: every state-changing request leaves one row, failures included, with no
secret in it; admins read it (filters, cursor, CSV), readers an article's history."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from app.audit.middleware import AuditTrail
from app.audit.models import AuditEntry
from app.core.db import session_scope
from tests.support.api_helpers import leaf_routes, submit
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch
from tests.support.stack import use_settings

TOKEN = "audit-test-token-0123456789abcdef"


def entries(api: Any, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/audit", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_an_approve_and_an_edit_are_recorded_with_who_what_and_versions(api: Any) -> None:
    _, (article_id,) = add_batch([ZH_ARTICLE])
    edited = api.patch(f"/api/articles/{article_id}", headers={
        "If-Match": '"1"', "User-Agent": "audit-test/1.0"},
        json={"content": "# 新内容\n\n" + "正文。" * 100, "note": "修正错别字"})
    assert edited.status_code == 200, edited.text
    assert api.post(f"/api/articles/{article_id}/approve", json={"version": 2}).status_code == 200

    approve, edit = entries(api)
    assert approve["action"] == "approve_article"
    assert (approve["object_type"], approve["object_id"]) == ("article", str(article_id))
    assert approve["status"] == 200 and approve["method"] == "POST"
    assert approve["path"] == "/api/articles/{article_id}/approve"
    assert approve["changes"]["version_after"] == 2
    assert edit["action"] == "edit_article"
    assert edit["changes"]["version_before"] == 1 and edit["changes"]["version_after"] == 2
    assert edit["changes"]["fields"] == ["content", "note"]
    # A short value is kept (Chinese as written), the long content by name only.
    assert edit["changes"]["values"] == {"note": "修正错别字"}
    assert edit["user_agent"] == "audit-test/1.0" and edit["client"] == "testclient"
    assert edit["actor"] == "anonymous" and edit["id"] < approve["id"]


def test_failed_and_rolled_back_requests_are_recorded(api: Any) -> None:
    _, (article_id,) = add_batch([EN_ARTICLE])
    assert api.post("/api/articles/999999/approve", json={"version": 1}).status_code == 404
    # Stale edit: the request's unit of work is rolled back, its audit row stays.
    stale = api.patch(f"/api/articles/{article_id}", json={"title": "x", "version": 7})
    assert stale.status_code == 409
    assert api.get(f"/api/articles/{article_id}").json()["title"] == EN_ARTICLE["title"]

    conflict, missing = entries(api)
    assert (missing["action"], missing["object_id"], missing["status"]) == (
        "approve_article", "999999", 404)
    assert (conflict["action"], conflict["status"]) == ("edit_article", 409)
    assert conflict["changes"]["version_before"] == 7
    assert "version_after" not in conflict["changes"]


def test_a_created_batch_is_named_by_its_id(api: Any) -> None:
    task = submit(api, ["审计：新批次"])["task_id"]
    (entry,) = entries(api)
    assert (entry["action"], entry["object_type"], entry["object_id"], entry["status"]) == (
        "generate_articles", "batch", task, 202)
    assert entry["changes"]["fields"] == ["titles", "category"]
    assert entry["changes"]["values"] == {"category": "guide"}


def test_reads_are_not_recorded(api: Any) -> None:
    _, (article_id,) = add_batch([EN_ARTICLE])
    api.get(f"/api/articles/{article_id}")
    api.get("/api/tasks")
    assert entries(api) == []


def test_no_secret_reaches_the_trail(api: Any) -> None:
    secret = "hunter2-very-secret-value"
    response = api.post("/api/profiles", headers={"Authorization": f"Bearer {secret}"},
                        json={"name": "x", "password": secret, "api_key": secret,
                              "note": f"token={secret}"})
    assert response.status_code == 401  # a bearer that names nobody is refused, and recorded
    (entry,) = entries(api)
    assert set(entry["changes"]["fields"]) == {"name", "password", "api_key", "note"}
    assert entry["changes"]["values"]["name"] == "x"
    assert secret not in json.dumps(entry)
    assert secret not in api.get("/api/audit.csv").text


def test_the_token_holder_is_named_and_a_wrong_token_is_anonymous(api: Any) -> None:
    use_settings(api_token=TOKEN)
    try:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert api.post("/api/articles/999999/approve", headers=bearer,
                        json={"version": 1}).status_code == 404
        assert api.post("/api/articles/999999/approve",
                        headers={"Authorization": "Bearer wrong"}).status_code == 401
        refused, accepted = api.get("/api/audit", headers=bearer).json()["items"]
    finally:
        use_settings(api_token="")
    assert (accepted["actor"], accepted["via"], accepted["status"]) == (
        "api-token", "api_token", 404)
    assert (refused["actor"], refused["via"], refused["status"]) == ("anonymous", "anonymous", 401)
    assert "wrong" not in json.dumps(refused)


def test_filters_cursor_csv_and_an_articles_history(api: Any) -> None:
    _, (first, second) = add_batch([EN_ARTICLE, ZH_ARTICLE])
    for article_id in (first, second, first):
        api.post(f"/api/articles/{article_id}/reject", json={"note": "重写", "version": 1})
    api.post(f"/api/articles/{first}/approve", json={"version": 1})

    assert [e["action"] for e in entries(api, object_type="article", object_id=str(first))] == [
        "approve_article", "reject_article", "reject_article"]
    assert len(entries(api, action="reject_article")) == 3
    assert entries(api, user="someone-else") == []
    assert entries(api, since="2999-01-01T00:00:00Z") == []
    assert len(entries(api, until="2999-01-01T00:00:00Z")) == 4

    page = api.get("/api/audit", params={"limit": 3}).json()
    rest = api.get("/api/audit", params={"limit": 3, "before": page["next_cursor"]}).json()
    ids = [e["id"] for e in page["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert rest["next_cursor"] is None

    history = api.get(f"/api/articles/{second}/history").json()["items"]
    assert [(e["action"], e["changes"]["values"]) for e in history] == [
        ("reject_article", {"note": "重写", "version": 1})]

    exported = api.get("/api/audit.csv", params={"action": "reject_article"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r["object_id"] for r in rows] == [str(first), str(second), str(first)]
    assert json.loads(rows[1]["changes"])["values"] == {"note": "重写", "version": 1}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"before": 0},
                                    {"since": "yesterday"}, {"action": "a b"},
                                    {"user": "x" * 101}])
def test_bad_filters_are_refused_naming_the_field(api: Any, params: dict[str, Any]) -> None:
    response = api.get("/api/audit", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(params))


def test_the_trail_cannot_be_edited(api: Any) -> None:
    api.post("/api/articles/1/approve")
    audit_routes = [r for r in leaf_routes(api.app) if "audit" in r.path
                    or r.path.endswith("/history")]
    assert len(audit_routes) == 3
    assert {m for r in audit_routes for m in r.methods} == {"GET"}
    assert api.delete("/api/audit").status_code == 405
    with pytest.raises(DBAPIError), session_scope() as session:
        session.execute(update(AuditEntry).values(actor="someone else"))
    with session_scope() as session:
        assert session.scalar(select(AuditEntry.actor)) == "anonymous"


def test_a_request_that_crashes_still_leaves_its_row(database: str) -> None:
    app = FastAPI()

    @app.post("/api/boom/{thing_id}")
    def boom(thing_id: int) -> None:
        raise RuntimeError("bug")

    app.add_middleware(AuditTrail)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/api/boom/5", json={"a": 1}).status_code == 500
    with session_scope() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.object_type, entry.object_id, entry.status) == (
        "boom", "thing", "5", 500)


def test_the_principal_a_route_declared_is_the_one_recorded(api: Any,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A route with `allow()` leaves its Principal on request.state: the middleware takes it
    as it is, without resolving the credentials again."""
    from app.audit import middleware

    def no_second_lookup(*_args: Any) -> None:
        raise AssertionError("the credentials were resolved again")

    use_settings(api_token=TOKEN)
    monkeypatch.setattr(middleware, "principal_of", no_second_lookup)
    try:
        put = api.put("/api/limits/张三", headers={"Authorization": f"Bearer {TOKEN}"},
                      json={"max_batches_per_hour": 3, "max_titles_per_hour": None})
        assert put.status_code == 200
        (entry,) = api.get("/api/audit", headers={"Authorization": f"Bearer {TOKEN}"}
                           ).json()["items"]
    finally:
        use_settings(api_token="")
    assert (entry["actor"], entry["via"], entry["action"]) == ("api-token", "api_token",
                                                               "put_limits")
    assert (entry["object_type"], entry["object_id"]) == ("user", "张三")
    assert entry["changes"]["values"] == {"max_batches_per_hour": 3, "max_titles_per_hour": None}
