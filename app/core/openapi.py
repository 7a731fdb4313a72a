"""The OpenAPI schema as the API really answers, so generated clients match it.

FastAPI documents its own `HTTPValidationError` (`{"detail": [{loc, msg, type}]}`) for every 422,
which is not what the handlers in app.main send. Here every error answer of every operation,
whatever router it comes from, is given the one shape they do send (`ErrorOut`), and the answers
FastAPI cannot see are added: 401 and 403 where credentials are asked for, 404 where the path
names a resource, 413 where there is a body (app.core.limits), and the `Location` header of 201/202.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.core.schemas import ErrorItem, ErrorOut

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorOut"}
# What FastAPI puts in the schema for its own validation error, replaced everywhere.
FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")

UNAUTHORIZED = ("No valid credentials: `Authorization: Bearer <personal token or API_TOKEN>`, "
                "or the page's session cookie")
FORBIDDEN = ("Signed in, but not allowed: the role lacks the permission, the batch or schedule "
             "is someone else's, or a cookie-authorised change came from another site")
NOT_FOUND = "Nothing with this id"
TOO_LARGE = "The request body is larger than MAX_BODY_BYTES"
INVALID = "Invalid input: each error names its field"
LOCATION = {
    "description": "Where to follow the resource this answer is about",
    "required": True,
    "schema": {"type": "string"},
}


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": dict(ERROR_SCHEMA)}}


def _is_fastapi_error(content: dict[str, Any]) -> bool:
    ref = str(content.get("application/json", {}).get("schema", {}).get("$ref", ""))
    return ref.rsplit("/", 1)[-1] in FASTAPI_ERRORS


def _never_null(parameter: dict[str, Any]) -> None:
    """An optional header is either sent or not: it has no null. FastAPI states `str | None`
    as `anyOf: [string, null]`, which a client (or a fuzzer) would send as `If-Match: null`."""
    schema = parameter.get("schema", {})
    branches = schema.get("anyOf", [])
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if parameter.get("in") == "header" and len(kept) == 1 < len(branches):
        del schema["anyOf"]
        parameter["schema"] = {**kept[0], **schema}


def _operation(path: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        _never_null(parameter)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if operation.get("security"):
        responses.setdefault("401", {"description": UNAUTHORIZED})
        responses["401"].setdefault("headers", {})["WWW-Authenticate"] = {
            "description": "`Bearer`", "schema": {"type": "string"}}
        responses.setdefault("403", {"description": FORBIDDEN})
    if "{" in path:
        responses.setdefault("404", {"description": NOT_FOUND})
    if "requestBody" in operation:
        responses.setdefault("413", {"description": TOO_LARGE})
    if operation.get("parameters") or "requestBody" in operation:
        responses.setdefault("422", {"description": INVALID})
    for code, response in responses.items():
        if code in ("201", "202"):
            response.setdefault("headers", {})["Location"] = dict(LOCATION)
        if not code.startswith(("4", "5")):
            continue
        content = response.get("content") or {}
        # A route that documents its own body for an error (health's 503) keeps it.
        if not content or _is_fastapi_error(content) or content == {
                "application/json": {"schema": {}}}:
            response["content"] = _error_content()
        if code == "422" and response.get("description") == "Validation Error":
            response["description"] = INVALID


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the API's real error answers (a copy; the argument is left alone)."""
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_ERRORS:
        components.pop(name, None)
    components["ErrorItem"] = ErrorItem.model_json_schema()
    components["ErrorOut"] = ErrorOut.model_json_schema(
        ref_template="#/components/schemas/{model}")
    components["ErrorOut"].pop("$defs", None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                _operation(path, operation)
    return schema


def install(app: FastAPI) -> None:
    """Serve `describe(...)` of FastAPI's schema at the app's openapi_url (built once)."""
    build: Callable[[], dict[str, Any]] = app.openapi
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            built.update(describe(build()))
        return built

    app.openapi = openapi  # type: ignore[method-assign]
