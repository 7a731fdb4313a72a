"""The page's language field, quality counts and category profiles section, in Chromium."""

from __future__ import annotations

from tests.browser.test_page import browser, expect, tab  # noqa: F401  (fixtures)
from tests.support import http
from tests.support.server import running_api


def test_language_and_profiles_from_the_page(database, tmp_path, start_worker, tab):  # noqa: F811
    page = tab.page
    start_worker(concurrency=2)
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        page.fill("#titles", "什么是 ETF？新手投资入门")
        page.fill("#language", "english please")
        expect(page.locator("#form-errors")).to_contain_text("Language must be auto")
        expect(page.locator("#generate")).to_be_disabled()
        page.fill("#language", "zh-CN")
        page.fill("#category", "news")
        page.click("#generate")
        card = page.locator("article.batch").first
        expect(card.locator(".language")).to_have_text("zh-CN")
        expect(card.locator(".badge")).to_have_text("completed", timeout=60_000)
        task = card.get_attribute("data-task-id")
        (article,) = http.get(f"{server.url}/api/articles",
                              params={"task_id": task}).json()["items"]
        assert article["language"] == "zh-CN"

        page.click("#profiles-toggle")
        rows = page.locator("#profiles-rows tr")
        expect(rows).to_have_count(4)
        review = page.locator("#profiles-rows tr[data-category='review']")
        expect(review).to_contain_text("built-in")
        review.get_by_role("button", name="Edit").click()
        expect(page.locator("#profile-category")).to_have_value("review")
        page.fill("#profile-min_words", "300")
        page.fill("#profile-model", "review-mini")
        page.click("#profile-save")
        expect(page.locator("#toast")).to_have_text("Profile review saved (version 1).")
        expect(review).to_contain_text("version 1")
        expect(review).to_contain_text("300–1,200")  # numbers in the locale's format
        expect(review).to_contain_text("review-mini")
        stored = http.get(f"{server.url}/api/profiles/review").json()
        assert (stored["min_words"], stored["model"], stored["version"]) == (300, "review-mini", 1)

        page.click("#profile-new")
        page.fill("#profile-category", "Pets")
        page.fill("#profile-instructions", "Write for cat owners.")
        page.click("#profile-save")
        expect(page.locator("#profiles-rows tr[data-category='pets']")).to_contain_text(
            "version 1")
        expect(page.locator("#profile-form")).to_be_hidden()

        review.get_by_role("button", name="Edit").click()
        page.fill("#profile-max_words", "100")
        page.click("#profile-save")
        expect(page.locator("#profile-errors")).to_contain_text("must not be above max_words")
        page.click("#profile-reset")
        expect(review).to_contain_text("built-in")
        assert http.get(f"{server.url}/api/profiles/review").json()["builtin"] is True

        page.click("#lang-toggle")
        expect(page.locator("#profiles-title")).to_have_text("分类配置")
        expect(review).to_contain_text("内置")
    assert tab.dialogs == []
