"""Accounts on the page in a real browser: the login form, role-aware buttons, and the live
stream authorised by the session cookie (no token in its URL)."""

from __future__ import annotations

import time
from typing import Any

from app.accounts.permissions import Role
from tests.accounts.conftest import PASSWORD, make_account
from tests.browser.test_page import expect, submit_from_page
from tests.support import http
from tests.support.articles import EN_ARTICLE, add_batch
from tests.support.server import running_api

SECURED = {"API_ALLOW_UNAUTHENTICATED": "false"}


def log_in(page: Any, url: str, name: str) -> None:
    page.goto(url)
    expect(page.locator("#login-dialog")).to_be_visible()
    page.fill("#login-name", name)
    page.fill("#login-password", "not it at all")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#login-dialog")).to_be_hidden()


def open_first_article(page: Any) -> None:
    page.click("#tab-library")
    page.locator("#library-list tbody tr").first.locator(".open").click()
    expect(page.locator("#reader-status")).to_have_text("draft")


def test_a_reviewer_logs_in_and_approves(database, tmp_path, tab) -> None:
    page = tab.page
    make_account("li.na", Role.REVIEWER, display_name="李娜")
    _, (article_id,) = add_batch([EN_ARTICLE])
    with running_api(database, tmp_path, **SECURED) as server:
        log_in(page, server.url, "li.na")
        expect(page.locator("#whoami")).to_have_text("李娜 · reviewer")
        expect(page.locator("#tab-accounts")).to_be_hidden()  # admins only
        open_first_article(page)
        page.click("#approve-article")
        expect(page.locator("#reader-status")).to_have_text("approved")
        expect(page.locator("#reader-review")).to_contain_text("Reviewed by li.na")
        page.click("#activity-article")  # the audit trail names who approved it
        entry = page.locator("#activity-list li")
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text("Approved")
        expect(entry).to_contain_text("by li.na")
        expect(page.locator("#audit-panel")).to_be_hidden()  # the whole trail: admins only
        assert http.get(f"{server.url}/api/articles/{article_id}").status_code == 401
        page.click("#close-reader")
        page.click("#logout-button")
        expect(page.locator("#login-dialog")).to_be_visible()
    assert tab.dialogs == []


def test_an_editor_sees_no_approve_button_and_the_api_refuses_them(database, tmp_path,
                                                                    tab) -> None:
    page = tab.page
    make_account("zhou", Role.EDITOR)
    _, (article_id,) = add_batch([EN_ARTICLE])
    with running_api(database, tmp_path, **SECURED) as server:
        log_in(page, server.url, "zhou")
        open_first_article(page)
        for button in ("#approve-article", "#reject-article", "#publish-article"):
            expect(page.locator(button)).to_be_hidden()
        expect(page.locator("#edit-article")).to_be_visible()
        # The same request the button would send, with the page's own session cookie.
        status = page.evaluate(
            "id => fetch(`/api/articles/${id}/approve`, {method: 'POST'}).then(r => r.status)",
            article_id)
        assert status == 403


def test_the_live_stream_follows_a_batch_with_no_token_in_its_url(database, tmp_path, tab,
                                                                   start_worker) -> None:
    page = tab.page
    make_account("editor-1", Role.EDITOR)
    start_worker(concurrency=1, offline_delay="0.6")
    with running_api(database, tmp_path, **SECURED) as server:
        log_in(page, server.url, "editor-1")
        card = submit_from_page(page, ["Live without a token", "Second title", "Third title"])
        seen = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "done" not in seen:
            seen.add(card.get_attribute("data-live"))
            time.sleep(0.05)
        assert "sse" in seen, seen
        expect(card.locator(".badge")).to_have_text("completed")
        server.stop()
        log = server.log_path.read_text()
    assert "/events HTTP/1.1\" 200" in log
    assert "token=" not in log
