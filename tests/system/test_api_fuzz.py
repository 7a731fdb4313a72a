"""A property-based run over /openapi.json (schemathesis): every operation the app has, in-process
on the test's database and the session's real Redis, with a bearer token set.

Seeded and derandomized, a bounded number of examples per operation (`FUZZ_EXAMPLES`), valid and
invalid data alike. Checks: no 5xx, every answer's status code, content type, headers and body
are the ones the schema states (the 422 shape included), invalid data is refused with a 4xx,
valid data is accepted, an invalid or missing token is refused, 405s list the methods the path
really has, and each 201/202's `Location` answers. Schemathesis's pytest plugin makes one test
per operation: `pytest tests/system/test_api_fuzz.py -k 'POST /api/schedules'`.

The health routes answer 503 by design here (no worker runs), in their own documented body.
The event stream is fuzzed too: an unknown batch is a 404, and a stream is cut after
`max-stream-events` events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Config
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.main import app
from tests.support.api_helpers import leaf_routes
from tests.support.stack import use_settings

TOKEN = "fuzz-token-for-the-tests"
# Per operation (valid and invalid data): about a minute for the file per database.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))

CONFIG = Config.from_dict({
    "seed": 14,
    "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "deterministic": True,
                   "database": "none"},
    "auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}},
    "max-stream-events": 2,
    "request-timeout": 10,
    # Replaced by `valid_data_accepted` below (the same check, with the documented exceptions).
    "checks": {"positive_data_acceptance": {"enabled": False},
               # A body past MAX_BODY_BYTES is refused with 413 before it is parsed.
               "negative_data_rejection": {"expected-statuses": [
                   "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428",
                   "429"]}},
    "operations": [{
        "include-path-regex": "^/api/health",
        "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "4xx", "503"]}},
    }, {
        # The Content API is public by design (Permission.CONTENT): it ignores the bearer token,
        # and asks for CONTENT_API_KEY only when the site sets one (not here).
        "include-path-regex": "^/(content/|sitemap\\.xml$)",
        "checks": {"ignored_auth": {"enabled": False}},
    }],
})
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


def _error_fields(response: Any) -> set[str]:
    try:
        return {error["field"] for error in json.loads(response.text)["errors"]}
    except (ValueError, KeyError, TypeError):
        return set()


# Refusals of schema-valid data by rules a JSON Schema cannot state, each only on the paths it
# belongs to, for its one field and with its own message (anything else still fails the run):
# (path prefix, the field, a phrase of the message).
DOMAIN_ONLY: tuple[tuple[str, str, str], ...] = (
    # A cron whose day never occurs in its months (`0 0 31 2 *`), described in the schema's text.
    ("/api/schedules", "cron", "never occurs"),
    # A webhook URL is resolved and its addresses checked (private ones refused), and the rest
    # of its rules (no spaces, no user name, a valid port) are the service's: the schema states
    # its scheme and length only.
    ("/api/webhooks", "url", ""),
    # An admin may act for another user: one that exists (accounts), which a schema cannot know.
    ("/api/tasks/generate-articles", "owner", "no user named"),
    ("/api/schedules", "owner", "no user named"),
    # A password that is a placeholder or a repeated pattern (app/core/secrets_policy.py).
    ("/api/users", "password", "a placeholder or a repeated pattern"),
    # API_TOKEN acts as the built-in `api-token` account, which has no tokens of its own.
    ("/api/tokens", "user", "built-in account with no tokens"),
    # A publish time must be in the future, and within a year: relative to the clock.
    ("/api/articles/", "publish_at", "must be in the future"),
    ("/api/articles/", "publish_at", "days ahead"),
    # A cursor is opaque: only one this API gave decodes.
    ("/content/articles", "cursor", "not a cursor this API gave"),
)


def _domain_only(response: Any, case: Any) -> bool:
    fields = _error_fields(response)
    # A review or an edit needs the version read, in the body or in If-Match (either one): 428.
    if response.status_code == 428:
        return case.path.startswith("/api/articles/") and fields == {"version"}
    if response.status_code != 422:
        return False
    if any(case.path.startswith(path) and fields == {field} and phrase in response.text
           for path, field, phrase in DOMAIN_ONLY):
        return True
    # A profile's min_words/min_chars above its max: a rule across two fields.
    return "must not be above" in response.text and bool(fields) and fields <= {
        "min_words", "max_words", "min_chars", "max_chars"}


def valid_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's positive_data_acceptance, except for the rules a JSON Schema cannot
    state (`DOMAIN_ONLY`, and a profile whose minimum length is above its maximum): refused
    with 422, naming their field; and a review without the version read (428)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _domain_only(response, case):
            return None
        raise


@pytest.fixture
def token_api(api: Any) -> Iterator[Any]:
    """The `api` fixture (the test's database) with API_TOKEN set, so auth is fuzzed too."""
    use_settings(api_token=TOKEN, api_allow_unauthenticated="false")
    api.headers["Authorization"] = f"Bearer {TOKEN}"
    try:
        yield api
    finally:
        use_settings(api_token="", api_allow_unauthenticated="true")


@pytest.mark.timeout(240)
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_fuzz(case: Any, token_api: Any) -> None:
    response = case.call_and_validate(additional_checks=[valid_data_accepted])
    if response.status_code in (201, 202):
        (location,) = response.headers["location"]  # required by the schema, checked above
        assert token_api.get(location).status_code == 200, (case.path, location)


def _operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_the_run_covers_every_operation_of_the_app():
    """Not vacuous: every documented operation is fuzzed, and every API route is documented."""
    fuzzed = {(op.method.upper(), op.path) for op in
              (result.ok() for result in schema.get_all_operations())}
    assert fuzzed == _operations()
    assert ("POST", "/api/tasks/generate-articles") in fuzzed and len(fuzzed) >= 19
    routes = {(method, getattr(route, "path_format", route.path)) for route in leaf_routes(app)
              for method in getattr(route, "methods", ()) or ()
              if route.path.startswith("/api/") and method != "HEAD"}
    assert len(routes) >= 17 and routes <= fuzzed


# What the fuzzer (and a look at what it pointed to) found before these were fixed: server
# errors from values the schema allowed, or values the domain took that the schema refuses.
B = {"titles": ["A fine title"], "category": "guide"}
S = {"name": "Weekly", "cron": "@daily", "titles": ["A title"], "category": "guide"}
FOUND: dict[str, tuple[str, str, dict[str, Any], int, str]] = {
    "an article id past 64 bits (SQLite OverflowError: 500)":
        ("GET", "/api/articles/99999999999999999999", {}, 422, "article_id"),
    "a NUL in a batch id (PostgreSQL refuses NUL: 500)":
        ("GET", "/api/tasks/%00/status", {}, 422, "task_id"),
    "a NUL in the task_id filter (PostgreSQL: 500)":
        ("GET", "/api/articles?task_id=%00", {}, 422, "task_id"),
    "an unpaired surrogate in a title (UTF-8 encoding: 500)":
        ("POST", "/api/tasks/generate-articles", {"content": b'{"titles": ["a\\ud800b"], '
                                                  b'"category": "guide"}'}, 422, "titles[0]"),
    "a NUL in the Idempotency-Key (PostgreSQL: 500)":
        ("POST", "/api/tasks/generate-articles",
         {"json": B, "headers": {"Idempotency-Key": "key\x00"}}, 422, "idempotency-key"),
    "an empty Idempotency-Key (the schema says 1-128 characters)":
        ("POST", "/api/tasks/generate-articles",
         {"json": B, "headers": {"Idempotency-Key": ""}}, 422, "idempotency-key"),
    "a Kelvin sign as category (lower() made it 'k'; the pattern refuses it)":
        ("POST", "/api/tasks/generate-articles", {"json": {**B, "category": "\u212a"}}, 422,
         "category"),
    "a title with a tab (the pattern refuses control characters)":
        ("POST", "/api/tasks/generate-articles", {"json": {**B, "titles": ["a\tb"]}}, 422,
         "titles[0]"),
    "a title over the limit before its spaces are folded":
        ("POST", "/api/tasks/generate-articles", {"json": {**B, "titles": ["a" + " " * 300]}},
         422, "titles[0]"),
    "a NUL in a schedule's name (stored on SQLite, 500 on PostgreSQL)":
        ("POST", "/api/schedules", {"json": {**S, "name": "x\x00y"}}, 422, "name"),
    "an unpaired surrogate in a schedule's name (500)":
        ("POST", "/api/schedules", {"content": b'{"name": "a\\ud800", "cron": "@daily", '
                                    b'"titles": ["t"], "category": "guide"}'}, 422, "name"),
    "a cron step the schema does not state":
        ("POST", "/api/schedules", {"json": {**S, "cron": "*/100 * * * *"}}, 422, "cron"),
    "a cron of one field (the schema allowed any string)":
        ("PATCH", "/api/schedules/{sid}", {"json": {"cron": "0"}}, 422, "cron"),
}


def test_what_the_fuzzer_found_stays_fixed(token_api):
    """One test for all of FOUND (a database each would cost more than the requests)."""
    created = token_api.post("/api/schedules", json={**S, "name": "Patched"})
    assert created.status_code == 201, created.text
    for case, (method, path, request, status, field) in FOUND.items():
        path = path.replace("{sid}", created.json()["id"])
        if "content" in request:
            request = {**request, "headers": {"content-type": "application/json"}}
        response = token_api.request(method, path, **request)
        assert response.status_code == status, (case, response.text)
        body = response.json()
        assert field in {e["field"] for e in body["errors"]}, (case, body)
        assert body["detail"].startswith(f"{field}: "), (case, body)
    assert token_api.get("/api/schedules").json()["total"] == 1  # none of them stored one
    assert token_api.get("/api/tasks").json()["total"] == 0


def test_a_405_lists_every_method_of_the_path(token_api):
    response = token_api.options("/api/schedules/0123456789abcdef0123456789abcdef")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH, DELETE"
    assert response.json()["errors"] == [{"field": "method", "message": "Method Not Allowed"}]
    assert token_api.options("/api/schedules").headers["allow"] == "GET, POST"
