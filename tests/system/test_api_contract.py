"""What every route promises, checked over whatever routes the app has (issue 14): bounded
pagination and numbers, a schema that states its limits and the real error shape, and
`Location` on every 201/202."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from app.articles.models import Article
from app.batches import state
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.core.schemas import MAX_OFFSET
from app.llm.base import Generated
from app.main import app
from app.publishing.models import Publication
from tests.support.stack import use_settings

HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = components[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _unbounded(node: Any, components: dict[str, Any], where: str,
               seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every number without both bounds, string without maxLength, array without maxItems and
    object open to any key, in a request schema."""
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(components[name], components, where, seen | {name})
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind in ("integer", "number") and not ({"minimum", "exclusiveMinimum"} & set(node)
                                              and {"maximum", "exclusiveMaximum"} & set(node)):
        yield f"{where}: {kind} without both bounds"
    if kind == "string" and "maxLength" not in node and "enum" not in node \
            and "const" not in node and "format" not in node:
        yield f"{where}: string without maxLength"
    if kind == "array" and "maxItems" not in node:
        yield f"{where}: array without maxItems"
    if kind == "object" and node.get("additionalProperties", True) is not False:
        yield f"{where}: object open to any property"
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(node.get(key, [])):
            yield from _unbounded(option, components, f"{where}.{key}[{i}]", seen)
    for name, prop in (node.get("properties") or {}).items():
        yield from _unbounded(prop, components, f"{where}.{name}", seen)
    if isinstance(node.get("items"), dict):
        yield from _unbounded(node["items"], components, f"{where}[]", seen)


def test_every_input_of_every_operation_is_bounded_in_the_schema():
    schema = app.openapi()
    components = schema["components"]["schemas"]
    problems = []
    for method, path, operation in _operations():
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} {parameter['in']} {parameter['name']}"
            problems += _unbounded(parameter["schema"], components, where)
        for media in operation.get("requestBody", {}).get("content", {}).values():
            problems += _unbounded(media["schema"], components, f"{method} {path} body")
    assert problems == []


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_no_pattern_lets_a_control_character_through():
    """A pattern `^[^controls]*\\S[^controls]*$` let one control character be its \\S:
    "0\\x1b" was schema-valid as a profile's instructions or an edited title, and the API
    refused it (the fuzzer's "schema-valid request rejected")."""
    patterns = set(_patterns(app.openapi()))
    guarded = [p for p in patterns if "\\x00-" in p]  # those that refuse control characters
    assert guarded
    for pattern in guarded:
        for text in ("\x1b", "0\x1b", "\x1b0", "0\x00x"):
            assert re.search(pattern, text) is None, (pattern, text)
        assert re.search(pattern, "如何在家种植番茄"), pattern


def test_every_error_answer_has_the_api_error_shape():
    """No operation documents FastAPI's HTTPValidationError, every 4xx/5xx names a body, and
    the 401/404/413/422 an operation can give are documented."""
    schema = app.openapi()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    error = components["ErrorOut"]
    assert set(error["required"]) == {"detail", "errors"}
    item = _resolve(error["properties"]["errors"]["items"], components)
    assert set(item["required"]) == {"field", "message"}
    for method, path, operation in _operations():
        responses = operation["responses"]
        for code, response in responses.items():
            if code[0] in "45":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                health = {"/api/health": "HealthOut", "/api/health/ready": "ReadyOut"}
                expected = health.get(path, "ErrorOut") if code == "503" else "ErrorOut"
                assert ref.endswith(f"/{expected}"), (method, path, code)
        if operation.get("security"):
            assert "401" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"413", "422"} <= set(responses), (method, path)
        if operation.get("parameters"):
            assert "422" in responses, (method, path)


def test_the_answers_have_the_documented_shape(api):
    unknown = "0123456789abcdef0123456789abcdef"
    for method, path, status, field in [
        ("GET", f"/api/tasks/{unknown}/status", 404, "task_id"),
        ("GET", "/api/tasks?limit=0", 422, "limit"),
        ("GET", "/api/nothing-here", 404, "path"),
        ("DELETE", "/api/tasks", 405, "method"),
    ]:
        response = api.request(method, path)
        assert response.status_code == status, (path, response.text)
        body = response.json()
        assert set(body) == {"detail", "errors"} and body["errors"][0]["field"] == field, body
        assert body["detail"] == "; ".join(f"{e['field']}: {e['message']}"
                                           for e in body["errors"])


def _list_operations() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for method, path, operation in _operations():
        names = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        if method == "GET" and {"offset", "limit"} <= set(names):
            found.append((path, names))
    return found


def _with_ids(api: Any, template: str) -> str:
    """A list's path with its ids filled in (a subscription's delivery log)."""
    if "{subscription_id}" in template:
        return template.replace("{subscription_id}", _subscribe(api).json()["id"])
    return template


def test_every_list_endpoint_bounds_offset_and_limit(api):
    """`offset`/`limit` far past any table (the issue's 10**35 was a 500) are refused naming
    the parameter, on every list endpoint; the bounds themselves are served."""
    lists = _list_operations()
    assert {"/api/tasks", "/api/articles", "/api/schedules"} <= {p for p, _ in lists}
    for template, params in lists:
        path = _with_ids(api, template)
        offset, limit = params["offset"]["schema"], params["limit"]["schema"]
        assert (offset["minimum"], offset["maximum"]) == (0, MAX_OFFSET), path
        assert limit["minimum"] == 1 and limit["maximum"] <= 500, path
        for name, value in [("offset", 92972258498527280444590290993414144), ("offset", -1),
                            ("offset", MAX_OFFSET + 1), ("limit", 10**35), ("limit", 0),
                            ("limit", limit["maximum"] + 1), ("offset", "ten")]:
            response = api.get(path, params={name: value})
            assert response.status_code == 422, (path, name, value, response.text)
            assert response.json()["errors"][0]["field"] == name, (path, response.text)
        edge = api.get(path, params={"offset": MAX_OFFSET, "limit": limit["maximum"]})
        assert edge.status_code == 200, (path, edge.text)
        assert edge.json()["items"] == [] and edge.json()["offset"] == MAX_OFFSET


# --- Location on every 201/202 ---------------------------------------------------------------

B = {"titles": ["A title for Location"], "category": "guide"}


def _new_batch(api: Any) -> str:
    response = api.post("/api/tasks/generate-articles", json=B)
    assert response.status_code == 202, response.text
    return str(response.json()["task_id"])


def _failed_batch(api: Any) -> str:
    """A batch whose one item failed, through the state machine a worker uses."""
    task_id = _new_batch(api)
    with session_scope() as session:
        state.start_batch(session, task_id)
        item = state.claim_item(session, _item_id(api, task_id), "test-worker", 60)
        assert item is not None
        state.fail_item(session, item, "failed for the test")
    return task_id


def _item_id(api: Any, task_id: str) -> int:
    return int(api.get(f"/api/tasks/{task_id}/status").json()["items"][0]["id"])


# How to get each 201/202 answer: a route that answers one needs an entry here, or the test
# below fails naming it.
RECIPES: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("POST", "/api/tasks/generate-articles"):
        lambda api: api.post("/api/tasks/generate-articles", json=B),
    ("POST", "/api/tasks/{task_id}/cancel"):
        lambda api: api.post(f"/api/tasks/{_new_batch(api)}/cancel"),
    ("POST", "/api/tasks/{task_id}/retry-failed"):
        lambda api: api.post(f"/api/tasks/{_failed_batch(api)}/retry-failed"),
    ("POST", "/api/schedules"):
        lambda api: api.post("/api/schedules", json={"name": "Location", "cron": "@daily", **B}),
    ("POST", "/api/profiles"):
        lambda api: api.post("/api/profiles", json={"category": "location-check"}),
    ("POST", "/api/tasks/{task_id}/resume"):
        lambda api: api.post(f"/api/tasks/{_paused_batch(api)}/resume"),
    ("POST", "/api/articles/{article_id}/regenerate"):
        lambda api: api.post(f"/api/articles/{_article(api)}/regenerate", json={}),
    ("POST", "/api/webhooks"):
        lambda api: _subscribe(api),
    ("POST", "/api/webhooks/{subscription_id}/test"):
        lambda api: api.post(f"/api/webhooks/{_subscribe(api).json()['id']}/test"),
    ("POST", "/api/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"):
        lambda api: api.post("/api/webhooks/{}/deliveries/{}/redeliver".format(*_pinged(api))),
    ("POST", "/api/targets"): lambda api: api.post("/api/targets", json=_target_body(api)),
    ("POST", "/api/users"): lambda api: api.post("/api/users", json={
        "name": f"user-{api.get('/api/users').json()['total']}", "display_name": "编辑 一号",
        "role": "editor", "password": "correct horse battery staple"}),
    ("POST", "/api/tokens"): lambda api: api.post("/api/tokens", params={"user": _user(api)},
                                                  json={"name": "CI 脚本"}),
    ("POST", "/api/articles/{article_id}/publish-to/{target_id}"):
        lambda api: api.post(f"/api/articles/{_article(api)}/publish-to/{_target(api)}"),
    ("POST", "/api/articles/{article_id}/unpublish-from/{target_id}"):
        lambda api: api.post("/api/articles/{}/unpublish-from/{}".format(*_posted(api))),
}


def _subscribe(api: Any) -> Any:
    """A webhook subscription to a loopback URL (allowed for this call only)."""
    use_settings(webhook_allow_private="true")
    try:
        return api.post("/api/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                               "events": ["batch.completed"]})
    finally:
        use_settings(webhook_allow_private=None)


def _pinged(api: Any) -> tuple[str, int]:
    """(subscription id, delivery id) of a test ping."""
    subscription_id = _subscribe(api).json()["id"]
    return subscription_id, api.post(f"/api/webhooks/{subscription_id}/test").json()["id"]



def _user(api: Any) -> str:
    """A user to hold a token (the anonymous admin of these tests has no tokens of its own)."""
    name = f"holder-{api.get('/api/users').json()['total']}"
    api.post("/api/users", json={"name": name, "role": "viewer"})
    return name


def _target_body(api: Any) -> dict[str, str]:
    return {"name": f"location {api.get('/api/targets').json()['total']}",
            "base_url": "https://wp.example.com", "username": "u", "app_password": "p"}


def _target(api: Any) -> int:
    return int(api.post("/api/targets", json=_target_body(api)).json()["id"])


def _posted(api: Any) -> tuple[int, int]:
    """An article with a post on a target (its remote id set here: no WordPress runs)."""
    article_id, target_id = _article(api), _target(api)
    publication = api.post(f"/api/articles/{article_id}/publish-to/{target_id}").json()
    with session_scope() as session:
        session.get(Publication, publication["id"]).remote_id = 41  # type: ignore[union-attr]
    return article_id, target_id


def _paused_batch(api: Any) -> str:
    """A batch a budget paused (set in the database: no worker runs here)."""
    task_id = _new_batch(api)
    with session_scope() as session:
        batch = session.get(AIGenerationTask, task_id)
        assert batch is not None
        batch.status, batch.paused_reason = "paused", "daily budget of $1.00 reached"
    return task_id


def _article(api: Any) -> int:
    """An article written for a new batch's item (through the state machine, no worker)."""
    task_id = _new_batch(api)
    with session_scope() as session:
        item = session.scalars(select(GenerationItem).where(
            GenerationItem.task_id == task_id)).one()
        claimed = state.claim_item(session, item.id, "location/1", lease=60)
        assert claimed is not None
        state.complete_item(session, claimed, "guide", Generated(
            content="# T\n\nBody", provider="test", model="m"))
    with session_scope() as session:
        article = session.scalars(select(Article).where(Article.task_id == task_id)).one()
        return article.id


def _created_or_accepted() -> list[tuple[str, str, str]]:
    return [(method, path, code) for method, path, operation in _operations()
            for code in operation["responses"] if code in ("201", "202")]


def test_every_201_and_202_documents_its_location():
    routes = _created_or_accepted()
    assert len(routes) >= 4
    for method, path, code in routes:
        headers = app.openapi()["paths"][path][method.lower()]["responses"][code]["headers"]
        assert headers["Location"]["required"] is True, (method, path)


@pytest.mark.parametrize("route", sorted({(m, p) for m, p, _ in _created_or_accepted()}))
def test_every_201_and_202_answer_has_a_location_that_answers(api, route):
    recipe = RECIPES.get(route)
    assert recipe is not None, f"{route}: add a recipe to RECIPES so its Location is checked"
    response = recipe(api)
    assert response.status_code in (201, 202), response.text
    location = response.headers["Location"]
    assert location.startswith("/api/"), location
    followed = api.get(location)
    assert followed.status_code == 200, (location, followed.text)
    body = response.json()
    idents = [str(body[key]) for key in ("task_id", "id", "category", "name")
              if body.get(key)]
    assert any(ident in location for ident in idents), (location, idents)
