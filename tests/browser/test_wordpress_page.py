"""The page's WordPress sites section and the reader's "On WordPress" panel, in Chromium,
against a real worker and the real WordPress (tests/support/wordpress.py)."""

from __future__ import annotations

from tests.browser.test_page import browser, expect, tab  # noqa: F401  (fixtures)
from tests.publishing.conftest import unique, wordpress_site  # noqa: F401  (fixtures)
from tests.support.articles import ZH_ARTICLE, add_batch
from tests.support.server import running_api


def test_a_site_added_tested_and_sent_to_from_the_page(
        database, tmp_path, start_worker, tab, wordpress_site, unique):  # noqa: F811
    page = tab.page
    _, (article_id,) = add_batch([{**ZH_ARTICLE, "title": f"页面发布 {unique}"}])
    start_worker(concurrency=1)
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        page.click("#targets-toggle")
        expect(page.locator("#targets-rows")).to_contain_text("No site yet.")
        page.fill("#target-name", f"page {unique}")
        page.fill("#target-url", wordpress_site.url)
        page.fill("#target-user", wordpress_site.user)
        page.fill("#target-password", wordpress_site.password)
        page.select_option("#target-status", "publish")
        page.fill("#target-categories", "guide=页面指南")
        page.click("#target-save")
        expect(page.locator("#targets-report")).to_contain_text(
            f"signed in as {wordpress_site.user}", timeout=30_000)
        expect(page.locator("#targets-rows")).to_contain_text(f"page {unique}")
        assert wordpress_site.password not in page.content()

        page.evaluate("id => window.TA.openArticle(id)", article_id)
        panel = page.locator("#publications")
        expect(panel).to_contain_text("Not sent to any site yet.")
        page.click("#publish-send")
        item = panel.locator("li[data-state='live']")
        expect(item).to_contain_text("live", timeout=60_000)
        link = item.get_by_role("link", name="Open").get_attribute("href")
        assert link and link.startswith(wordpress_site.url)
