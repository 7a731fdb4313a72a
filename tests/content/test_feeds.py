"""RSS 2.0 and Atom feeds read by feedparser (no bozo, the entries match), and the sitemap
validated against the sitemaps.org schema with xmlschema; Chinese text and characters XML must
escape included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
import xmlschema
from fastapi.testclient import TestClient

from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch, publish

SITEMAP_XSD = Path(__file__).parents[1] / "support" / "sitemap.xsd"
TRICKY = {**EN_ARTICLE, "title": "Fees & <taxes> \"explained\"",
          "content": "# Fees & <taxes>\n\nA & B < C, and 5 > 3 in ]]> too.\n"}


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def library(client: TestClient) -> list[int]:
    _batch, ids = add_batch([ZH_ARTICLE, TRICKY])
    add_batch([{**EN_ARTICLE, "title": "Not live"}], category="news")  # approved at most
    for article_id in ids:
        publish(article_id)
    return ids


def _parsed(client: TestClient, path: str, **params: str) -> feedparser.FeedParserDict:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    feed = feedparser.parse(answer.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


@pytest.mark.parametrize(("path", "version"), [("/content/rss.xml", "rss20"),
                                               ("/content/atom.xml", "atom10")])
def test_feeds_parse_and_their_entries_match(client, library, path, version):
    feed = _parsed(client, path)
    assert feed.version == version
    assert [entry.title for entry in feed.entries] == [TRICKY["title"], ZH_ARTICLE["title"]]
    tricky, chinese = feed.entries
    assert tricky.link.endswith("/content/articles/fees-taxes-explained?language=en")
    assert chinese.link.endswith("?language=zh-CN") and "/content/articles/ru-he-" in chinese.link
    assert "选择交易所" in chinese.summary
    assert chinese.published_parsed is not None
    assert {tag.term for tag in chinese.tags} >= {"guide"}
    if version == "atom10":
        assert "A &amp; B &lt; C" in tricky.content[0].value  # the HTML, escaped once more


def test_feeds_filter_by_language_and_category(client, library):
    assert [e.title for e in _parsed(client, "/content/rss.xml", language="zh").entries] == [
        ZH_ARTICLE["title"]]
    assert _parsed(client, "/content/atom.xml", category="news").entries == []
    assert client.get("/content/rss.xml", params={"language": "<bad>"}).status_code == 422


def test_an_empty_feed_is_still_valid(client):
    for path in ("/content/rss.xml", "/content/atom.xml"):
        assert _parsed(client, path).entries == []


def test_the_sitemap_is_valid_by_its_schema_with_lastmod(client, library):
    answer = client.get("/sitemap.xml")
    assert answer.headers["content-type"].startswith("application/xml")
    schema = xmlschema.XMLSchema(SITEMAP_XSD)
    schema.validate(answer.text)
    data = schema.to_dict(answer.text)
    locations = {url["loc"]: url["lastmod"] for url in data["url"]}
    assert len(locations) == 2 and all(lastmod.endswith("Z") for lastmod in locations.values())
    assert any(loc.endswith("fees-taxes-explained?language=en") for loc in locations)
    assert not any("not-live" in loc for loc in locations)
