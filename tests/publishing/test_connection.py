"""The connection test against the real WordPress: it names a bad password and plain
permalinks (and then publishing goes through ?rest_route=)."""

from __future__ import annotations

from typing import Any

from tests.support.wordpress import WordPressSite


def _test(api: Any, target: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/targets/{target['id']}/test")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_good_target_signs_in_and_may_publish(api: Any, make_target: Any) -> None:
    report = _test(api, make_target())
    assert report["ok"] is True, report["problems"]
    assert (report["user"], report["can_publish"], report["permalinks"]) == \
        ("editor-bot", True, "pretty")
    assert report["problems"] == [] and report["seo"] is None


def test_a_bad_password_is_named(api: Any, make_target: Any) -> None:
    report = _test(api, make_target(app_password="abcd efgh ijkl mnop qrst uvwx"))
    assert report["ok"] is False
    assert [p["code"] for p in report["problems"]] == ["bad_password"]
    assert "Application Password" in report["problems"][0]["message"]
    assert "abcd efgh" not in str(report)


def test_plain_permalinks_are_named_and_remembered(api: Any, make_target: Any,
                                                   wordpress_site: WordPressSite) -> None:
    target = make_target()
    wordpress_site.php("update_option('permalink_structure', ''); delete_option('rewrite_rules');")
    try:
        report = _test(api, target)
    finally:
        wordpress_site.php("update_option('permalink_structure', '/%postname%/'); "
                           "delete_option('rewrite_rules');")
    assert report["ok"] is True
    assert report["permalinks"] == "plain"
    assert [p["code"] for p in report["problems"]] == ["plain_permalinks"]
    assert api.get(f"/api/targets/{target['id']}").json()["rest_route_fallback"] is True
