"""The webhooks section of the page, in Chromium: subscribe, see the secret once, send a test
ping to the receiver process, read the delivery log, in English and Chinese."""

from __future__ import annotations

from standardwebhooks import Webhook

from tests.browser.test_page import browser, expect, tab  # noqa: F401  (fixtures)
from tests.support.server import running_api
from tests.support.stack import wait_for
from tests.support.webhook_receiver import WebhookReceiver


def test_subscribe_test_and_read_the_log(database, tmp_path, start_worker, tab):  # noqa: F811
    page = tab.page
    receiver = WebhookReceiver(tmp_path).start()
    start_worker(concurrency=1, WEBHOOK_ALLOW_PRIVATE="true")
    try:
        with running_api(database, tmp_path, WEBHOOK_ALLOW_PRIVATE="true") as server:
            page.goto(server.url)
            page.click("#webhooks-toggle")
            expect(page.locator("#webhooks-none")).to_be_visible()
            page.fill("#webhook-url", "ftp://example.com/")
            page.check("#webhook-event-batch\\.completed")
            page.click("#webhook-create")
            expect(page.locator("#webhook-errors")).to_contain_text("url: must start with")
            page.fill("#webhook-url", receiver.url)
            page.fill("#webhook-description", "站点通知")
            page.check("#webhook-event-batch\\.completed")
            page.click("#webhook-create")
            secret = page.locator("#webhook-secret-value")
            expect(secret).to_contain_text("whsec_")
            row = page.locator("#webhooks-rows tr").first
            expect(row).to_contain_text("batch.completed")

            row.get_by_role("button", name="Test").click()
            wait_for(receiver.requests, timeout=60, message="the test ping")
            (request,) = receiver.requests()
            assert Webhook(secret.inner_text().strip()).verify(
                request["body"], request["headers"])["type"] == "webhook.test"
            row.get_by_role("button", name="Deliveries").click()
            log = page.locator("#webhook-log-rows tr").first
            expect(log).to_contain_text(request["headers"]["webhook-id"])
            expect(log).to_contain_text("delivered")

            page.click("#lang-toggle")
            expect(log).to_contain_text("已送达")
            expect(row).to_contain_text("已启用")
            row.get_by_role("button", name="停用").click()
            expect(row).to_contain_text("已停用")
    finally:
        receiver.stop()
