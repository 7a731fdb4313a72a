"""The reader's SEO panel and scheduled publishing in Chromium, with a real worker whose
maintenance loop fires the schedule: an editor in Shanghai edits the SEO fields, approves,
schedules a few seconds ahead in local time, and the article appears in the Content API, the
RSS feed and the sitemap at that time, not before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from tests.browser.test_library import library_rows, open_library
from tests.browser.test_page import expect
from tests.support import http
from tests.support.articles import EN_ARTICLE, add_batch
from tests.support.server import running_api
from tests.support.stack import wait_for

ZONE = "Asia/Shanghai"
SLUG = "index-funds-in-plain-words"


@pytest.fixture
def shanghai(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1180, "height": 1000}, timezone_id=ZONE,
                                  locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _live(url: str) -> dict[str, bool]:
    feed = feedparser.parse(http.get(f"{url}/content/rss.xml").content)
    return {
        "api": http.get(f"{url}/content/articles/{SLUG}").status_code == 200,
        "feed": any(SLUG in entry.link for entry in feed.entries),
        "sitemap": SLUG in http.get(f"{url}/sitemap.xml").text,
    }


def test_edit_seo_fields_schedule_and_see_it_go_live_on_time(database, tmp_path, shanghai,
                                                            start_worker):
    page = shanghai
    _, (article_id,) = add_batch([EN_ARTICLE])
    start_worker(concurrency=1)  # its maintenance loop publishes due schedules
    with running_api(database, tmp_path) as server:
        open_library(page, server.url)
        library_rows(page).first.locator(".open").click()
        page.click("#seo-panel summary")
        expect(page.locator("#seo-title-count")).to_be_visible()
        page.fill("#seo-slug", SLUG)
        page.fill("#seo-title", "Index funds in plain words")
        page.fill("#seo-meta", "What an index fund is, what it costs and how to compare two "
                  "of them before you buy: the expense ratio, tracking error and fund size.")
        page.fill("#seo-tags", "investing, funds")
        expect(page.locator("#seo-preview-title")).to_have_text("Index funds in plain words")
        expect(page.locator("#seo-preview-url")).to_contain_text(SLUG)
        expect(page.locator("#seo-meta-count")).to_contain_text("/ 150–160")
        page.click("#seo-save")
        expect(page.locator("#reader-version")).to_contain_text("Version 2")
        page.click("#approve-article")
        expect(page.locator("#reader-status")).to_have_text("approved")

        when = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
        local = when.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M:%S")
        page.fill("#schedule-at", local)
        page.click("#schedule-article")
        expect(page.locator("#reader-status")).to_have_text("scheduled")
        article = http.get(f"{server.url}/api/articles/{article_id}").json()
        assert datetime.fromisoformat(article["publish_at"].replace("Z", "+00:00")) == when
        assert (article["slug"], article["tags"]) == (SLUG, ["investing", "funds"])
        assert _live(server.url) == {"api": False, "feed": False, "sitemap": False}

        wait_for(lambda: all(_live(server.url).values()), timeout=30,
                 message="the scheduled article in the Content API, the feed and the sitemap")
        assert datetime.now(UTC) >= when  # not before its time
        served = http.get(f"{server.url}/content/articles/{SLUG}").json()
        assert served["seo_title"] == "Index funds in plain words"
        assert datetime.fromisoformat(served["published_at"].replace("Z", "+00:00")) >= when
        page.click("#close-reader")
        library_rows(page).first.locator(".open").click()
        expect(page.locator("#reader-status")).to_have_text("published")
        expect(page.locator("#publish-state")).to_contain_text("Live: version 2")
