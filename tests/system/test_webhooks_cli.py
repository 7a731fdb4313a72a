"""`trustagency webhooks ...` against a real uvicorn, a worker and the receiver process."""

from __future__ import annotations

import json

from tests.support.server import running_api
from tests.support.stack import wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.system.test_cli import cli


def test_create_test_deliveries_update_and_delete(database, tmp_path, start_worker):
    receiver = WebhookReceiver(tmp_path).start()
    start_worker(concurrency=1, WEBHOOK_ALLOW_PRIVATE="true")
    try:
        with running_api(database, tmp_path, WEBHOOK_ALLOW_PRIVATE="true") as server:
            created = cli("webhooks", "create", receiver.url, "--json", "--events",
                          "batch.completed,article.approved", "--description", "站点 site",
                          url=server.url)
            assert created.returncode == 0, created.stderr
            sub = json.loads(created.stdout)
            assert sub["secret"].startswith("whsec_") and sub["description"] == "站点 site"
            listed = cli("webhooks", "list", url=server.url)
            assert sub["id"] in listed.stdout and "whsec_" not in listed.stdout

            assert cli("webhooks", "test", sub["id"], url=server.url).returncode == 0
            wait_for(lambda: receiver.requests(), timeout=60, message="the test ping")
            log = cli("webhooks", "deliveries", sub["id"], "--json", url=server.url)
            (row,) = json.loads(log.stdout)["items"]
            assert row["event_type"] == "webhook.test"
            assert row["event_id"] == receiver.requests()[0]["headers"]["webhook-id"]

            rotated = cli("webhooks", "update", sub["id"], "--disable", "--rotate-secret",
                          url=server.url)
            assert rotated.returncode == 0 and "DISABLED" in rotated.stdout
            assert "whsec_" in rotated.stdout and sub["secret"] not in rotated.stdout
            refused = cli("webhooks", "redeliver", sub["id"], str(row["id"]), url=server.url)
            assert refused.returncode != 0 and "enabled:" in refused.stderr
            bad = cli("webhooks", "create", "ftp://example.com", "--events", "batch.failed",
                      url=server.url)
            assert bad.returncode != 0 and "url: must start with http://" in bad.stderr
            assert cli("webhooks", "delete", sub["id"], url=server.url).returncode == 0
            assert sub["id"] not in cli("webhooks", "list", url=server.url).stdout
            shown = cli("webhooks", "--help")
            assert shown.returncode == 0 and "usage: trustagency webhooks" in shown.stdout
    finally:
        receiver.stop()
