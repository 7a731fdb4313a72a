"""The audit trail on the page, in Chromium: an article's activity in the reader after an
approve, and the admins' audit view with a filter, in English and Chinese."""

from __future__ import annotations

from tests.browser.test_library import library_rows, open_library
from tests.browser.test_page import expect
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch
from tests.support.server import running_api


def test_activity_in_the_reader_and_the_audit_view(database, tmp_path, tab):
    page = tab.page
    add_batch([EN_ARTICLE, ZH_ARTICLE])
    with running_api(database, tmp_path) as server:
        open_library(page, server.url)
        library_rows(page).first.locator(".open").click()
        page.click("#approve-article")
        expect(page.locator("#reader-status")).to_have_text("approved")
        page.click("#activity-article")
        entry = page.locator("#activity-list li")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text("Approved")
        expect(entry).to_contain_text("by anonymous")
        expect(entry).to_contain_text("done")
        page.click("#publish-article")
        expect(page.locator("#reader-status")).to_have_text("published")
        expect(page.locator("#activity-list li")).to_have_count(2)  # reloaded on the change
        expect(page.locator("#activity-list li").first).to_contain_text("Published")
        page.click("#close-reader")

        page.click("#tab-batches")
        page.click("#audit-toggle")
        rows = page.locator("#audit-rows tr")
        expect(rows).to_have_count(2)
        page.fill("#audit-action", "publish_article")
        page.click("#audit-search")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Published")
        page.fill("#audit-action", "bad action")
        page.click("#audit-search")
        expect(page.locator("#audit-errors")).to_contain_text("action")

        page.click("#lang-toggle")
        expect(page.locator("#audit-title")).to_have_text("审计日志")
        expect(rows.first).to_contain_text("已发布")
    assert tab.dialogs == []
