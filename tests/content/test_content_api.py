"""The public Content API: published articles only, their published version only, an
allow-list of fields (checked field by field on both databases), caching validators and 304s,
cursor pagination, filters and the optional content key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient

from app.articles import service
from app.config import get_settings
from app.content.schemas import PUBLIC_FIELDS, ContentArticle
from app.core.db import session_scope
from app.core.logs import secret_values
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch, publish, set_article
from tests.support.stack import use_settings

SECRET_NOTE = "approved over coffee, do not print"
REVIEWER = "Reviewer Ana Secret"


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


def _library() -> dict[str, int]:
    """A draft, an approved one, a published one (Chinese) and a published one whose edit waits
    for review; private values everywhere (cost, tokens, model, reviewer, note)."""
    _batch, ids = add_batch([
        {**EN_ARTICLE, "title": "Draft only", "content": "# Draft only\n\nUNPUBLISHED-DRAFT"},
        {**EN_ARTICLE, "title": "Approved only", "content": "# Approved\n\nAPPROVED-NOT-LIVE"},
        ZH_ARTICLE,
        {**EN_ARTICLE, "content": EN_ARTICLE["content"] + "\nLIVE-TEXT-V1\n"},
    ])
    draft, approved, chinese, edited = ids
    for article_id in ids:
        set_article(article_id, cost_usd=0.123456, model="secret-model-x",
                    provider="secret-provider")
    set_article(approved, status="approved")
    publish(chinese, reviewer=REVIEWER, note=SECRET_NOTE)
    publish(edited, reviewer=REVIEWER, note=SECRET_NOTE)
    with session_scope() as session:
        service.edit(session, edited, version=1, content="# Index\n\nDRAFT-EDIT-V2\n",
                     seo_fields={"slug": "renamed-in-draft"})
    return {"draft": draft, "approved": approved, "chinese": chinese, "edited": edited}


def test_only_live_articles_their_published_version_and_public_fields(client):
    ids = _library()
    answer = client.get("/content/articles")
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [item["title"] for item in items] == [EN_ARTICLE["title"], ZH_ARTICLE["title"]]
    assert set(ContentArticle.model_fields) == set(PUBLIC_FIELDS)
    for item in items:
        assert set(item) == set(PUBLIC_FIELDS)  # field by field: nothing else
    assert set(answer.json()) == {"items", "next_cursor"}
    live = items[0]
    assert "LIVE-TEXT-V1" in live["markdown"] and "LIVE-TEXT-V1" in live["html"]
    assert live["slug"] == "index-funds-explained"  # the edit's new slug is not live yet
    zh = items[1]
    assert zh["slug"].isascii() and zh["language"] == "zh-CN" and "<table>" in zh["html"]
    one = client.get(f"/content/articles/{zh['slug']}")
    assert one.status_code == 200 and set(one.json()) == set(PUBLIC_FIELDS)
    everything = "".join(client.get(path).text for path in (
        "/content/articles", f"/content/articles/{zh['slug']}",
        f"/content/articles/{live['slug']}", "/content/rss.xml", "/content/atom.xml",
        "/sitemap.xml"))
    for private in ("UNPUBLISHED-DRAFT", "APPROVED-NOT-LIVE", "DRAFT-EDIT-V2", "renamed-in-draft",
                    "0.123456", "secret-model-x", "secret-provider", REVIEWER, SECRET_NOTE,
                    "Draft only", "Approved only", "tokens", "cost", "reviewer"):
        assert private not in everything, private
    assert client.get("/content/articles/renamed-in-draft").status_code == 404
    assert client.get("/content/articles/draft-only").status_code == 404
    assert ids["draft"] not in {item.get("id") for item in items}


def test_strong_etags_last_modified_and_304s(client):
    _library()
    first = client.get("/content/articles")
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=60"
    assert client.get("/content/articles", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/content/articles", headers={
        "If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get("/content/articles", headers={"If-None-Match": '"x"'}).status_code == 200
    slug = first.json()["items"][0]["slug"]
    one = client.get(f"/content/articles/{slug}")
    modified = one.headers["last-modified"]
    assert client.get(f"/content/articles/{slug}",
                      headers={"If-Modified-Since": modified}).status_code == 304
    for path in ("/content/rss.xml", "/content/atom.xml", "/sitemap.xml"):
        feed = client.get(path)
        assert feed.headers["cache-control"] == "public, max-age=60"
        again = client.get(path, headers={"If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_a_newly_published_article_changes_the_etag(client):
    ids = _library()
    etag = client.get("/content/articles").headers["etag"]
    set_article(ids["approved"], status="approved")
    publish(ids["approved"])
    fresh = client.get("/content/articles", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.json()["items"][0]["title"] == "Approved only"


def test_cursor_pages_filters_and_bounds(client):
    _batch, ids = add_batch([{**EN_ARTICLE, "title": f"Fund {i}", "content": f"# Fund {i}\n\nx"}
                             for i in range(5)], category="news")
    for article_id in ids:
        publish(article_id)
    seen, cursor = [], None
    while True:
        page = client.get("/content/articles", params={"limit": 2, **(
            {"cursor": cursor} if cursor else {})}).json()
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Fund {i}" for i in reversed(range(5))]
    assert len(client.get("/content/articles", params={"category": "news"}).json()["items"]) == 5
    assert client.get("/content/articles", params={"category": "guide"}).json()["items"] == []
    assert client.get("/content/articles", params={"language": "zh"}).json()["items"] == []
    assert len(client.get("/content/articles", params={"tag": "news"}).json()["items"]) == 5
    assert client.get("/content/articles", params={"tag": "nope"}).json()["items"] == []
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "%%%"}, {"language": "not a tag"}):
        bad = client.get("/content/articles", params=params)
        assert bad.status_code == 422, (params, bad.text)
    assert client.get("/content/articles", params={"cursor": "bm9wZQ"}).status_code == 422


def test_a_slug_in_two_languages_needs_its_language(client):
    _batch, (en_id, tw_id) = add_batch([EN_ARTICLE, {**EN_ARTICLE, "language": "zh-TW"}])
    publish(en_id)
    publish(tw_id)
    both = client.get("/content/articles/index-funds-explained")
    assert both.status_code == 409 and "language" in both.text
    tw = client.get("/content/articles/index-funds-explained", params={"language": "zh-TW"})
    assert tw.status_code == 200 and tw.json()["language"] == "zh-TW"
    assert tw.json()["url"].endswith("/content/articles/index-funds-explained?language=zh-TW")


def test_the_content_key_when_set(client):
    _library()
    use_settings(content_api_key="site-key-1")
    try:
        for path in ("/content/articles", "/content/rss.xml", "/sitemap.xml"):
            refused = client.get(path)
            assert refused.status_code == 401 and "key" in refused.json()["detail"]
            assert client.get(path, params={"key": "wrong"}).status_code == 401
            assert client.get(path, params={"key": "site-key-1"}).status_code == 200
            assert client.get(path, headers={"X-Content-Key": "site-key-1"}).status_code == 200
    finally:
        use_settings(content_api_key=None)
    assert client.get("/content/articles").status_code == 200


def test_the_base_url_setting_makes_the_links(client):
    _library()
    use_settings(content_base_url="https://site.example")
    try:
        item = client.get("/content/articles").json()["items"][0]
        assert item["url"] == "https://site.example/content/articles/index-funds-explained?" \
            "language=en"
    finally:
        use_settings(content_base_url=None)


def test_if_modified_since_in_the_past_is_a_200(client):
    _library()
    one = client.get("/content/articles/index-funds-explained")
    earlier = parsedate_to_datetime(one.headers["last-modified"]) - timedelta(seconds=5)
    again = client.get("/content/articles/index-funds-explained",
                       headers={"If-Modified-Since": format_datetime(earlier, usegmt=True)})
    assert again.status_code == 200


def test_the_content_key_is_blanked_in_logs(db):
    use_settings(content_api_key="site-key-secret-2")
    try:
        assert "site-key-secret-2" in secret_values(get_settings())  # ?key= in access lines
    finally:
        use_settings(content_api_key=None)
