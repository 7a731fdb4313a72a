"""`trustagency targets ...` and `trustagency articles push` (the installed entry point) against a
real uvicorn, a real worker and the real WordPress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.cli.main import build_parser
from app.cli.publishing import route_article_actions
from tests.support.articles import ZH_ARTICLE, add_batch
from tests.support.server import running_api
from tests.support.wordpress import WordPressSite
from tests.system.test_cli import cli


def test_a_target_created_tested_and_pushed_to_from_the_command_line(
        database: str, tmp_path: Path, start_worker: Any, wordpress_site: WordPressSite,
        unique: str, monkeypatch: Any) -> None:
    _, (article_id,) = add_batch([{**ZH_ARTICLE, "title": f"命令行 {unique}"}])
    start_worker("w1", concurrency=1)
    monkeypatch.setenv("WORDPRESS_APP_PASSWORD", wordpress_site.password)
    with running_api(database, tmp_path) as server:
        def run(*args: str) -> Any:
            done = cli(*args, "--json", url=server.url)
            return done.returncode, json.loads(done.stdout or "null"), done.stderr

        code, target, err = run("targets", "create", f"cli {unique}", "--url",
                                wordpress_site.url, "--user", wordpress_site.user,
                                "--status", "publish", "--category", "guide=命令行指南")
        assert code == 0, err
        assert "app_password" not in target
        code, report, err = run("targets", "test", str(target["id"]))
        assert (code, report["ok"], report["user"]) == (0, True, wordpress_site.user), err
        code, listing, _ = run("targets", "list")
        assert [t["name"] for t in listing["items"]] == [f"cli {unique}"]

        code, publication, err = run("articles", "push", str(article_id), "--target",
                                     str(target["id"]), "--wait", "60")
        assert (code, publication["state"]) == (0, "live"), (err, publication)
        code, listed, _ = run("articles", "publications", str(article_id))
        assert listed["items"][0]["remote_url"] == publication["remote_url"]

        code, _, _ = run("targets", "delete", str(target["id"]))
        assert code == 0
    post = wordpress_site.api(f"/wp/v2/posts/{publication['remote_id']}").json()
    assert post["title"]["rendered"] == f"命令行 {unique}"  # the post stays on the site


def test_articles_push_and_publications_are_told_from_a_batch_s_articles() -> None:
    parser = build_parser()

    def parse(*argv: str) -> Any:
        return parser.parse_args(route_article_actions(list(argv)))

    push = parse("--json", "articles", "push", "12", "--target", "3", "--status", "future",
                 "--date", "2030-01-31T09:00:00Z")
    assert (push.func.__name__, push.article_id, push.target, push.status) == (
        "cmd_push", 12, 3, "future")
    assert parse("--api-url", "http://x", "articles", "publications", "12").func.__name__ == \
        "cmd_publications"
    assert parse("articles", "3f2a", "--out", "dir").func.__name__ == "cmd_articles"
    created = parse("targets", "create", "blog", "--url", "https://b.example", "--user", "u",
                    "--category", "guide=指南", "--category", "news=News")
    assert created.category == [{"category": "guide", "wordpress": "指南"},
                                {"category": "news", "wordpress": "News"}]
