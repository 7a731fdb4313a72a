"""Targets and publish requests through the API (in-process), no worker: what is stored, what is
refused and named, and that the Application Password never comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.articles import EN_ARTICLE, add_batch

SECRET = "abcd EFGH ijkl MNOP qrst UVWX"
BODY = {"name": "blog", "base_url": "https://blog.example.com/", "username": "bot",
        "app_password": SECRET}


def _create(api: Any, **changes: Any) -> dict[str, Any]:
    response = api.post("/api/targets", json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_target_is_stored_and_its_password_never_returned(api: Any) -> None:
    target = _create(api, category_map=[{"category": "Guide", "wordpress": "指南"}])

    assert target["base_url"] == "https://blog.example.com"
    assert target["has_password"] is True and "app_password" not in target
    assert target["category_map"] == [{"category": "guide", "wordpress": "指南"}]
    assert (target["default_status"], target["unpublish_action"], target["auto_publish"]) == \
        ("draft", "draft", "manual")
    assert target["require_https"] is True
    listed = api.get("/api/targets")
    one = api.get(f"/api/targets/{target['id']}")
    patched = api.patch(f"/api/targets/{target['id']}", json={"app_password": "new pass"})
    for response in (listed, one, patched):
        assert response.status_code == 200
        assert SECRET not in response.text and "new pass" not in response.text
    assert listed.json()["total"] == 1


def test_a_loopback_site_does_not_require_https_by_default(api: Any) -> None:
    assert _create(api, base_url="http://127.0.0.1:8080")["require_https"] is False
    assert _create(api, name="other", base_url="http://localhost")["require_https"] is False


@pytest.mark.parametrize(("changes", "field"), [
    ({"base_url": "ftp://blog.example.com"}, "base_url"),
    ({"base_url": "https://user:pw@blog.example.com"}, "base_url"),
    ({"name": "   "}, "name"),
    ({"default_status": "private"}, "default_status"),
    ({"auto_publish": "always"}, "auto_publish"),
    ({"name": "x" * 101}, "name"),
])
def test_bad_target_input_is_refused_naming_the_field(api: Any, changes: dict[str, Any],
                                                      field: str) -> None:
    response = api.post("/api/targets", json={**BODY, **changes})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_a_taken_name_is_409_and_an_unknown_target_404(api: Any) -> None:
    _create(api)
    assert api.post("/api/targets", json=BODY).status_code == 409
    assert api.get("/api/targets/999").status_code == 404
    assert api.delete("/api/targets/999").status_code == 404


def test_the_connection_test_names_a_missing_https_without_sending_the_password(
        api: Any) -> None:
    target = _create(api, base_url="http://blog.example.invalid", require_https=True)
    report = api.post(f"/api/targets/{target['id']}/test").json()
    assert report["ok"] is False
    assert [p["code"] for p in report["problems"]] == ["no_https"]


def test_a_publish_request_is_checked_before_it_is_queued(api: Any) -> None:
    target = _create(api)
    _, (article_id,) = add_batch([EN_ARTICLE])
    url = f"/api/articles/{article_id}/publish-to/{target['id']}"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    assert api.post(f"/api/articles/999/publish-to/{target['id']}").status_code == 404
    assert api.post(f"/api/articles/{article_id}/publish-to/999").status_code == 404
    no_date = api.post(url, json={"status": "future"})
    assert no_date.status_code == 422 and no_date.json()["errors"][0]["field"] == "date_gmt"
    assert api.post(url, json={"status": "future", "date_gmt": past}).status_code == 422
    unpublish = api.post(f"/api/articles/{article_id}/unpublish-from/{target['id']}")
    assert unpublish.status_code == 409
    assert api.get(f"/api/articles/{article_id}/publications").json() == {"items": []}

    queued = api.post(url)
    assert queued.status_code == 202
    assert queued.json()["state"] == "queued" and queued.json()["target_name"] == "blog"
    again = api.post(url, json={"status": "pending"})
    assert again.json()["id"] == queued.json()["id"]  # one publication per article and target
    assert len(api.get(f"/api/articles/{article_id}/publications").json()["items"]) == 1
