"""Bad input stores nothing and enqueues nothing (issue 3, promise 8)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import faults

URL = "/api/tasks/generate-articles"
JSON = {"content-type": "application/json"}


def _body(titles: Any = ("A fine title",), category: Any = "guide", **fields: Any
          ) -> dict[str, Any]:
    return {"json": {"titles": list(titles) if isinstance(titles, tuple) else titles,
                     "category": category, **fields}}


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


# (request, status, field the answer must name)
CASES: dict[str, tuple[dict[str, Any], int, str]] = {
    "empty list": (_body(titles=[]), 422, "titles"),
    "10,000 titles": (_body(titles=["Title"] * 10_000), 422, "titles"),
    "a 1 MB title": (_body(titles=["x" * 1_000_000]), 413, "body"),
    "a title over the length limit": (_body(titles=["ok", "y" * 301]), 422, "titles[1]"),
    "a blank title": (_body(titles=["fine", "   \t "]), 422, "titles[1]"),
    "a control character": (_body(titles=["nul\x00byte"]), 422, "titles[0]"),
    "invalid UTF-8": ({"content": b'{"titles": ["\xff\xfe"], "category": "guide"}',
                       "headers": JSON}, 422, "body"),
    "not JSON": ({"content": b"titles=a&category=guide", "headers": JSON}, 422, "body"),
    "no body": ({}, 422, "body"),
    "a JSON array": ({"json": ["A fine title"]}, 422, "body"),
    "titles not a list": (_body(titles="A fine title"), 422, "titles"),
    "titles of numbers": (_body(titles=[1, 2]), 422, "titles[0]"),
    "titles null": (_body(titles=None), 422, "titles"),
    "category missing": ({"json": {"titles": ["A fine title"]}}, 422, "category"),
    "category a number": (_body(category=5), 422, "category"),
    "category odd": (_body(category="../etc/passwd"), 422, "category"),
    "category blank": (_body(category="  "), 422, "category"),
    "an unknown field": ({"json": {"titles": ["t"], "category": "guide", "colour": 9}}, 422,
                         "colour"),
    "priority a number": (_body(priority=9), 422, "priority"),
    "priority unknown": (_body(priority="urgent"), 422, "priority"),
    "owner over 100 characters": (_body(owner="x" * 101), 422, "owner"),
    "owner of two lines": (_body(owner="alice\nbob"), 422, "owner"),
    # Not a dollar amount: `true` was taken for a $1 cap and "5" for $5.
    "max_cost_usd true": (_body(max_cost_usd=True), 422, "max_cost_usd"),
    "max_cost_usd a string": (_body(max_cost_usd="5"), 422, "max_cost_usd"),
    "max_cost_usd negative": (_body(max_cost_usd=-1), 422, "max_cost_usd"),
    "body over the limit": ({"content": b"[" + b"1," * 600_000 + b"1]", "headers": JSON}, 413,
                            "body"),
    # No Content-Length: the limit is enforced while the body streams in.
    "chunked body over the limit": ({"content": _chunks, "headers": JSON}, 413, "body"),
    "idempotency key too long": ({**_body(), "headers": {"Idempotency-Key": "k" * 200}}, 422,
                                 "idempotency-key"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(api, case):
    request, status, field = CASES[case]
    if callable(request.get("content")):
        request = {**request, "content": request["content"](2_000_000)}
    response = api.post(URL, **request)

    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}: "), detail
    assert faults.batch_count() == 0
    assert faults.queue_length() == 0


def test_a_good_request_after_bad_ones_is_stored_and_enqueued(api):
    """The checks above are not vacuous: the same database and queue see a good batch."""
    assert api.post(URL, **_body(titles=[])).status_code == 422
    assert api.post(URL, **_body()).status_code == 202
    assert faults.batch_count() == 1 and faults.queue_length() == 1


@pytest.mark.parametrize("method,path", [
    ("get", "/api/tasks/0123456789abcdef0123456789abcdef/status"),
    ("get", "/api/tasks/0123456789abcdef0123456789abcdef/progress"),
    ("post", "/api/tasks/0123456789abcdef0123456789abcdef/cancel"),
    ("get", "/api/articles/987654"),
])
def test_unknown_ids_are_404(api, method, path):
    response = getattr(api, method)(path)
    assert response.status_code == 404
    assert response.json()["detail"].split(":")[0] in {"task_id", "article_id"}


@pytest.mark.parametrize("cap", [True, "5", -1, 0, 1e9])
def test_a_cap_that_is_no_dollar_amount_leaves_the_batch_as_it_was(api, cap):
    task = api.post(URL, **_body(max_cost_usd=2.5)).json()["task_id"]
    response = api.patch(f"/api/tasks/{task}", json={"max_cost_usd": cap})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("max_cost_usd: "), response.text
    assert api.get(f"/api/tasks/{task}/status").json()["max_cost_usd"] == 2.5


def test_a_number_too_long_to_read_is_named_as_such(api):
    """Valid JSON whose number has more digits than Python converts (4300) was answered
    "body: not valid JSON (ValueError)"."""
    body = b'{"titles": ["A fine title"], "category": "guide", "max_cost_usd": 1' + b"0" * 5000
    response = api.post(URL, content=body + b"}", headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "body: a number in it has more than 4300 digits"
    assert faults.batch_count() == 0
