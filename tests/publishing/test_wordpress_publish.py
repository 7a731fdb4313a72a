"""Publishing through real Celery workers to a real WordPress, read back through WordPress's
own REST API (tests/support/wordpress.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.core import names
from app.core.db import session_scope
from app.publishing.models import PublishTarget
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch, set_article
from tests.support.faults import queue_length
from tests.support.stack import wait_for
from tests.support.wordpress import WordPressSite


def _publication(api: Any, article_id: int, target_id: int) -> dict[str, Any]:
    response = api.get(f"/api/articles/{article_id}/publications")
    assert response.status_code == 200, response.text
    return next(p for p in response.json()["items"] if p["target_id"] == target_id)


def _settled(api: Any, article_id: int, target_id: int, *states: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        publication = _publication(api, article_id, target_id)
        return publication if publication["state"] in states else None

    return dict(wait_for(done, timeout=60, interval=0.2, message=f"publication in {states}"))


def _publish(api: Any, article_id: int, target_id: int, **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/articles/{article_id}/publish-to/{target_id}", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


def _ours(site: WordPressSite, article_id: int, target_id: int) -> list[dict[str, Any]]:
    """Every post on the site that carries this article's marker, whatever its status."""
    with session_scope() as session:
        key = session.get(PublishTarget, target_id).key  # type: ignore[union-attr]
    marker = f"<!-- trustagency:article={article_id} target={key} -->"
    return [post for post in site.posts(search=f"trustagency:article={article_id}")
            if marker in post["content"]["raw"]]


def _post(site: WordPressSite, publication: dict[str, Any], state: str) -> dict[str, Any]:
    """The post the publication names, read back from WordPress, once it reached `state`."""
    assert publication["state"] == state, publication["last_error"]
    return dict(site.api(f"/wp/v2/posts/{publication['remote_id']}", context="edit").json())


def test_a_published_article_appears_with_its_fields(
        api: Any, start_worker: Any, make_target: Any, wordpress_site: WordPressSite,
        unique: str) -> None:
    target = make_target(category_map=[{"category": "guide", "wordpress": "Investing Guides"}])
    title = f"Index funds explained {unique}"
    _, (article_id,) = add_batch([{**EN_ARTICLE, "title": title}], category="guide")
    start_worker("w1", concurrency=2)

    assert _publish(api, article_id, target["id"])["state"] == "queued"
    publication = _settled(api, article_id, target["id"], "live", "failed")

    post = _post(wordpress_site, publication, "live")
    assert post["title"]["raw"] == title
    assert post["slug"] == f"index-funds-explained-{unique}"
    assert post["status"] == "publish"
    assert "An index fund follows a market index" in post["content"]["raw"]
    assert wordpress_site.term_names("categories", post["categories"]) == {"Investing Guides"}
    assert wordpress_site.term_names("tags", post["tags"]) == {"guide"}
    assert publication["remote_url"] == post["link"]
    assert publication["attempts"] == 1 and publication["version_sent"] == 1
    assert "SEO title and description not sent" in publication["note"]


def test_a_scheduled_article_is_future_with_its_date(
        api: Any, start_worker: Any, make_target: Any, wordpress_site: WordPressSite,
        unique: str) -> None:
    target = make_target(default_status="draft")
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    _, (article_id,) = add_batch([{**EN_ARTICLE, "title": f"Scheduled {unique}"}])
    start_worker("w1", concurrency=2)

    _publish(api, article_id, target["id"], status="future",
             date_gmt=when.isoformat().replace("+00:00", "Z"))
    publication = _settled(api, article_id, target["id"], "scheduled", "failed")

    post = _post(wordpress_site, publication, "scheduled")
    assert post["status"] == "future"
    assert post["date_gmt"] == when.strftime("%Y-%m-%dT%H:%M:%S")


def test_a_chinese_article_keeps_its_text_and_gets_a_pinyin_slug(
        api: Any, start_worker: Any, make_target: Any, wordpress_site: WordPressSite,
        unique: str) -> None:
    target = make_target(category_map=[{"category": "guide", "wordpress": "投资指南"}])
    title = f"{ZH_ARTICLE['title']} {unique}"
    _, (article_id,) = add_batch([{**ZH_ARTICLE, "title": title}], category="guide")
    start_worker("w1", concurrency=2)

    _publish(api, article_id, target["id"])
    publication = _settled(api, article_id, target["id"], "live", "failed")

    post = _post(wordpress_site, publication, "live")
    assert post["title"]["raw"] == title
    assert post["slug"] == f"ru-he-xuan-ze-yi-jia-kao-pu-de-jia-mi-huo-bi-jiao-yi-suo-{unique}"
    assert "比特币钱包的安全最重要" in post["content"]["raw"]
    assert wordpress_site.term_names("categories", post["categories"]) == {"投资指南"}


def test_a_republished_edit_updates_the_same_post_and_unpublish_moves_it(
        api: Any, start_worker: Any, make_target: Any, wordpress_site: WordPressSite,
        unique: str) -> None:
    target = make_target(unpublish_action="draft")
    _, (article_id,) = add_batch([{**EN_ARTICLE, "title": f"Edited later {unique}"}])
    start_worker("w1", concurrency=2)
    _publish(api, article_id, target["id"])
    first = _settled(api, article_id, target["id"], "live", "failed")
    assert first["state"] == "live", first["last_error"]

    set_article(article_id, content="# Edited later\n\nA second, better version.\n", version=2)
    _publish(api, article_id, target["id"])
    second = _settled(api, article_id, target["id"], "live", "failed")
    wait_for(lambda: _publication(api, article_id, target["id"])["version_sent"] == 2,
             message="the edit sent")

    assert second["remote_id"] == first["remote_id"]
    (post,) = _ours(wordpress_site, article_id, target["id"])
    assert post["id"] == first["remote_id"]
    assert "A second, better version." in post["content"]["raw"]

    response = api.post(f"/api/articles/{article_id}/unpublish-from/{target['id']}")
    assert response.status_code == 202, response.text
    _settled(api, article_id, target["id"], "withdrawn", "failed")
    post = wordpress_site.api(f"/wp/v2/posts/{first['remote_id']}", context="edit").json()
    assert post["status"] == "draft"


def test_a_worker_killed_after_wordpress_created_the_post_leaves_one_post(
        api: Any, start_worker: Any, make_target: Any, wordpress_site: WordPressSite,
        unique: str) -> None:
    target = make_target()
    _, (article_id,) = add_batch([{**EN_ARTICLE, "title": f"Crash window {unique}"}])
    doomed = start_worker("w1", concurrency=1, app="tests.support.crash_points",
                          CRASH_AT="after-wordpress-create")
    _publish(api, article_id, target["id"])
    wait_for(lambda: doomed.proc is not None and doomed.proc.poll() is not None, timeout=60,
             message="the worker to die right after WordPress created the post")
    (created,) = _ours(wordpress_site, article_id, target["id"])
    assert _publication(api, article_id, target["id"])["remote_id"] is None

    start_worker("w2", concurrency=1)
    _publish(api, article_id, target["id"])  # the editor's retry
    publication = _settled(api, article_id, target["id"], "live", "failed")

    assert publication["state"] == "live", publication["last_error"]
    assert publication["remote_id"] == created["id"]
    assert [post["id"] for post in _ours(wordpress_site, article_id, target["id"])] == \
        [created["id"]]


def test_a_wrong_password_fails_once_with_a_clear_message(
        api: Any, start_worker: Any, make_target: Any, wordpress_site: WordPressSite,
        unique: str) -> None:
    wrong = "abcd efgh ijkl mnop qrst uvwx"
    target = make_target(app_password=wrong)
    _, (article_id,) = add_batch([{**EN_ARTICLE, "title": f"Refused {unique}"}])
    worker = start_worker("w1", concurrency=1)

    _publish(api, article_id, target["id"])
    publication = _settled(api, article_id, target["id"], "failed", "live")

    assert publication["state"] == "failed"
    assert "401" in publication["last_error"]
    assert "Application Password" in publication["last_error"]
    assert wrong not in publication["last_error"] and "abcdefgh" not in publication["last_error"]
    assert publication["attempts"] == 1
    # No retry was sent: one message received by the worker, none waiting (a back-off would
    # have been received at once, held for its countdown).
    log = worker.log_path.read_text(errors="replace")
    assert log.count(f"{names.PUSH_PUBLICATION_TASK}[") == 2  # received, then succeeded
    assert queue_length(names.PUBLISHING_QUEUE) == 0
    assert _ours(wordpress_site, article_id, target["id"]) == []
