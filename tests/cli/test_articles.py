"""`trustagency articles seo|approve|publish|schedule|unpublish|show ID` against a real API
server: SEO fields edited as a version, the review pinned to the version read, a schedule sent
in UTC, and `articles BATCH_ID` still listing a batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.cli.main import main
from tests.support import http
from tests.support.articles import ZH_ARTICLE, add_batch
from tests.support.server import running_api


def _run(capsys, url: str, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--api-url", url, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_seo_fields_publish_schedule_and_unpublish_from_the_cli(database, tmp_path, capsys):
    task_id, (article_id,) = add_batch([ZH_ARTICLE])
    with running_api(database, tmp_path) as server:
        code, shown = _run(capsys, server.url, "articles", "show", str(article_id))
        assert code == 0 and shown["status"] == "draft"
        code, edited = _run(capsys, server.url, "articles", "seo", str(article_id),
                            "--slug", "kao-pu-jiao-yi-suo", "--tags", "交易所, 安全",
                            "--seo-title", "靠谱交易所怎么选")
        assert code == 0, edited
        assert (edited["slug"], edited["tags"], edited["version"]) == (
            "kao-pu-jiao-yi-suo", ["交易所", "安全"], 2)
        code, refused = _run(capsys, server.url, "articles", "approve", str(article_id),
                             "--version", "1")
        assert code != 0 and "version 2" in refused["error"]
        assert _run(capsys, server.url, "articles", "approve", str(article_id))[1][
            "status"] == "approved"
        local = (datetime.now(UTC) + timedelta(hours=3)).astimezone().replace(
            tzinfo=None, microsecond=0)
        code, scheduled = _run(capsys, server.url, "articles", "schedule", str(article_id),
                               "--at", local.isoformat())
        assert code == 0, scheduled
        assert datetime.fromisoformat(scheduled["publish_at"].replace("Z", "+00:00")) == \
            local.astimezone(UTC)
        code, live = _run(capsys, server.url, "articles", "publish", str(article_id))
        assert (code, live["status"], live["published_version"]) == (0, "published", 2)
        assert http.get(f"{server.url}/content/articles/kao-pu-jiao-yi-suo").status_code == 200
        code, down = _run(capsys, server.url, "articles", "unpublish", str(article_id))
        assert (code, down["status"], down["published_version"]) == (0, "approved", None)
        code, listed = _run(capsys, server.url, "articles", task_id)
        assert code == 0 and listed[0]["slug"] == "kao-pu-jiao-yi-suo"
