"""The editor's page in a real browser (Debian's Chromium driven by Playwright) against a real
uvicorn, real Celery workers, Redis and the database."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import http
from tests.support.server import running_api
from tests.support.stack import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
XSS_TITLE = "<img src=x onerror=alert(1)>"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium found (/usr/bin/chromium): install it with "
                    "`apt-get install -y chromium` to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Tab:
    page: Any
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt: none may appear
    errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1180, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    tab = Tab(page)
    page.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    context.close()
    assert not tab.errors, f"JavaScript errors on the page: {tab.errors}"


# How long an expectation waits for the page: it returns as soon as the condition holds, so a
# generous bound costs nothing on an idle machine and keeps a busy one from failing the test.
EXPECT_TIMEOUT_MS = 20_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    pw_expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    return pw_expect(locator)


def submit_from_page(page: Any, titles: list[str], category: str = "guide") -> Any:
    page.fill("#titles", "\n".join(titles))
    page.fill("#category", category)
    page.click("#generate")
    card = page.locator("article.batch").first
    expect(card.locator(".total")).to_have_text(f"{len(titles)} title" + "s" * (len(titles) > 1))
    return card


def test_page_submits_a_batch_watches_it_finish_and_reads_an_article(
        database, tmp_path, start_worker, tab):
    page = tab.page
    start_worker(concurrency=1, offline_delay="0.6")
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        expect(page.locator("#empty")).to_be_visible()
        titles = ["Saving for a first home", "Index funds explained", "What is a credit score?"]
        page.fill("#titles", "\n".join([titles[0], "", titles[1], "   ", titles[2]]))
        expect(page.locator("#title-count")).to_have_text("3 titles · 3 articles")
        card = submit_from_page(page, titles)
        expect(page.locator("#titles")).to_have_value("")

        # Watch the bar move up to the end, pushed by the event stream.
        bar = card.get_by_role("progressbar")
        seen, live = [], set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen.append(int(bar.get_attribute("aria-valuenow") or 0))
            live.add(card.get_attribute("data-live"))
            if seen[-1] == 100:
                break
            time.sleep(0.05)
        assert seen[-1] == 100, seen
        assert seen == sorted(seen) and any(0 < v < 100 for v in seen), seen
        assert "sse" in live, live
        expect(card.locator(".badge")).to_have_text("completed")
        expect(card.locator(".counts")).to_contain_text("3 of 3 done · 3 completed · 0 failed")
        expect(card.locator(".cancel")).to_be_hidden()
        rows = card.locator("tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(1).locator(".title")).to_have_text(titles[1])
        expect(rows.nth(1)).to_have_attribute("data-status", "completed")

        # Read the second article; copy and download it.
        rows.nth(1).get_by_role("button", name="Read").click()
        reader = page.locator("#reader")
        expect(reader).to_be_visible()
        expect(page.locator("#reader-title")).to_have_text(titles[1])
        expect(page.locator("#reader-body h1")).to_have_text(titles[1])
        expect(page.locator("#reader-body h2").first).to_have_text("Overview")
        page.click("#copy-article")
        expect(page.locator("#toast")).to_have_text("Markdown copied.")
        with page.expect_download() as download_info:
            page.click("#download-article")
        download = download_info.value
        assert download.suggested_filename == "index-funds-explained.md"
        markdown = http.get(f"{server.url}/api/articles?task_id="
                            f"{card.get_attribute('data-task-id')}").json()["items"]
        article = next(a for a in markdown if a["title"] == titles[1])
        assert Path(download.path()).read_text(encoding="utf-8") == article["content"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reader.png"))
        page.click("#close-reader")
        expect(reader).to_be_hidden()
        page.locator("#toast").evaluate("node => { node.hidden = true; }")
        page.screenshot(path=str(ARTIFACTS / "page.png"), full_page=True)
    assert tab.dialogs == []


def test_form_counts_titles_and_explains_problems_before_submitting(database, tmp_path, tab):
    page = tab.page
    with running_api(database, tmp_path, max_titles_per_batch="3") as server:
        page.goto(server.url)
        expect(page.locator("#generate")).to_be_disabled()
        page.fill("#titles", "One\nTwo\nThree\nFour")
        expect(page.locator("#title-count")).to_have_text("4 titles · 4 articles")
        expect(page.locator("#form-errors")).to_contain_text("Too many titles: 4 (at most 3")
        expect(page.locator("#generate")).to_be_disabled()
        page.fill("#titles", "Fine title\n" + "x" * 301)
        expect(page.locator("#form-errors")).to_contain_text(
            "Title 2 is 301 characters long (at most 300)")
        page.fill("#titles", "Fine title")
        page.fill("#category", "Not a slug!")
        expect(page.locator("#form-errors")).to_contain_text("Category must be a short slug")
        expect(page.locator("#generate")).to_be_disabled()
        page.fill("#category", "guide")
        expect(page.locator("#form-errors li")).to_have_count(0)
        expect(page.locator("#generate")).to_be_enabled()
        # Characters as the API counts them (code points): 𠮷 (CJK Extension B, in names) is one,
        # not JavaScript's two UTF-16 units (200 of them were refused as "400 characters").
        page.fill("#titles", "𠮷" * 200)
        page.fill("#owner", "𠮷" * 60)
        expect(page.locator("#form-errors li")).to_have_count(0)
        expect(page.locator("#generate")).to_be_enabled()
        page.fill("#titles", "𠮷" * 301)
        expect(page.locator("#form-errors")).to_contain_text(
            "Title 1 is 301 characters long (at most 300)")
        page.fill("#titles", "Fine title")
        page.fill("#owner", "")
        # Nothing was sent while the form was invalid.
        assert http.get(f"{server.url}/api/tasks").json()["total"] == 0


def test_priority_and_owner_are_submitted_shown_and_kept(database, tmp_path, tab):
    page = tab.page
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        expect(page.locator("#priority")).to_have_value("normal")
        page.fill("#titles", "Rates today")
        page.fill("#owner", "a\tb")
        expect(page.locator("#form-errors")).to_contain_text("Owner must be one line")
        expect(page.locator("#generate")).to_be_disabled()
        page.select_option("#priority", "high")
        page.fill("#owner", "  编辑部 ")
        expect(page.locator("#form-errors li")).to_have_count(0)
        card = submit_from_page(page, ["Rates today"])
        expect(card.locator(".priority")).to_have_text("High priority")
        expect(card.locator(".priority")).to_have_attribute("data-priority", "high")
        expect(card.locator(".owner")).to_have_text("for 编辑部")
        status = http.get(f"{server.url}/api/tasks/{card.get_attribute('data-task-id')}"
                           "/status").json()
        assert (status["priority"], status["owner"]) == ("high", "编辑部")

        # A batch from elsewhere shows up with its own; one without an owner shows none.
        for body in ({"priority": "low", "owner": "alice"}, {}):
            http.post(f"{server.url}/api/tasks/generate-articles",
                       json={"titles": ["From a script"], "category": "news", **body})
        cards = page.locator("article.batch")
        expect(cards).to_have_count(3)
        expect(cards.nth(1).locator(".priority")).to_have_text("Low priority")
        expect(cards.nth(1).locator(".owner")).to_have_text("for alice")
        expect(cards.first.locator(".priority")).to_have_text("Normal priority")
        expect(cards.first.locator(".owner")).to_be_hidden()

        # The owner is kept for the next batch; the page's words follow the language.
        page.reload()
        expect(page.locator("#owner")).to_have_value("编辑部")
        page.click("#lang-toggle")
        mine = page.locator(f"article.batch[data-task-id='{status['task_id']}']")
        expect(mine.locator(".priority")).to_have_text("高优先级")
        expect(mine.locator(".owner")).to_have_text("负责人：编辑部")
        expect(page.locator("label[for=priority]")).to_have_text("优先级")
        expect(page.locator("#priority option").first).to_have_text("高")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "priority-owner-zh.png"))
        page.click("#lang-toggle")
        expect(page.locator("label[for=owner]")).to_have_text("Owner")


def test_cancel_stops_a_running_batch_from_the_page(database, tmp_path, start_worker, tab):
    page = tab.page
    start_worker(concurrency=1, offline_delay="2")
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        card = submit_from_page(page, [f"Slow title {i}" for i in range(4)])
        expect(card.locator("tbody tr").first).to_have_attribute("data-status", "processing")
        cancel = card.get_by_role("button", name="Cancel")
        cancel.click()
        card.get_by_role("button", name="Confirm cancel").click()
        expect(card.locator(".badge")).to_have_text("cancelled", timeout=20_000)
        expect(card.locator(".cancel")).to_be_hidden()
        expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
        statuses = card.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.status)")
        assert statuses.count("cancelled") >= 3 and set(statuses) <= {"cancelled", "completed"}
        status = http.get(f"{server.url}/api/tasks/{card.get_attribute('data-task-id')}"
                          "/status").json()
        assert status["status"] == "cancelled" and status["cancelled"] >= 3


def test_titles_and_articles_with_markup_show_as_text(database, tmp_path, start_worker, tab):
    page = tab.page
    start_worker(concurrency=2)
    titles = [XSS_TITLE, "<script>alert('title')</script> & more",
              "[click me](javascript:alert(3))"]
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        card = submit_from_page(page, titles)
        expect(card.locator(".badge")).to_have_text("completed", timeout=60_000)
        cells = card.locator("tbody td.title")
        expect(cells).to_have_text(titles)
        for index in range(len(titles)):
            card.locator("tbody tr").nth(index).get_by_role("button", name="Read").click()
            expect(page.locator("#reader-title")).to_have_text(titles[index])
            expect(page.locator("#reader-body h1")).to_have_text(titles[index])
            body = page.locator("#reader-body")
            assert body.locator("img, script, iframe").count() == 0
            assert body.locator("a[href^='javascript']").count() == 0
            page.click("#close-reader")
        assert page.locator("main img, main script").count() == 0
        page.wait_for_timeout(500)  # give any injected handler a chance to fire
    assert tab.dialogs == []


def test_token_is_asked_once_and_kept(database, tmp_path, start_worker, tab):
    page = tab.page
    token = "page-token-kq3ZtP0v9xWc1mRb7yLs"
    start_worker(concurrency=1)
    with running_api(database, tmp_path, api_token=token,
                     api_allow_unauthenticated="false") as server:
        page.goto(server.url)
        expect(page.locator("#login-dialog")).to_be_visible()  # the login form comes first
        page.click("#login-use-token")
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        page.fill("#token-input", "wrong-token")
        page.click("#token-save")
        expect(page.locator("#token-error")).to_have_text(
            "The API refused that token. Please check it.")
        page.fill("#token-input", token)
        page.click("#token-save")
        expect(dialog).to_be_hidden()
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#whoami")).to_have_text("api-token · admin")

        page.reload()
        expect(page.locator("#empty")).to_be_visible()
        expect(dialog).to_be_hidden()
        card = submit_from_page(page, ["A title behind a token"])
        expect(card.locator(".badge")).to_have_text("completed", timeout=60_000)
        server.stop()
        log = server.log_path.read_text()
    # No token in any URL: a page holding a token (no session cookie) polls instead of
    # streaming, since an EventSource cannot send the Authorization header.
    assert "token=" not in log and token not in log


def test_retry_failed_items_from_the_page(database, tmp_path, start_worker, tab,
                                          fake_llm, llm_env):
    from tests.support.fake_openai import Behavior

    page = tab.page
    fake_llm.add_rule("Unlucky", [Behavior(kind="400")], then=Behavior())
    start_worker(concurrency=2, **llm_env)
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        card = submit_from_page(page, ["Lucky title", "Unlucky title"])
        expect(card.locator(".badge")).to_have_text("partially completed", timeout=60_000)
        failed = card.locator("tbody tr[data-status='failed']")
        expect(failed.locator(".error")).to_contain_text("PermanentError")
        card.get_by_role("button", name="Retry failed").click()
        expect(card.locator(".badge")).to_have_text("completed", timeout=60_000)
        expect(card.get_by_role("button", name="Retry failed")).to_be_hidden()
        expect(card.locator("tbody tr[data-status='completed']")).to_have_count(2)
        assert http.get(f"{server.url}/api/tasks/{card.get_attribute('data-task-id')}"
                        "/status").json()["completed"] == 2
