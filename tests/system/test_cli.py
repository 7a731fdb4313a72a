"""The `trustagency` command (the installed entry point) against a real uvicorn and workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import http
from tests.support.server import free_port, running_api
from tests.support.stack import wait_for

BIN = Path(sys.executable).parent / "trustagency"
CLI_TOKEN = "cli-token-kq3ZtP0v9xWc1mRb7yLs"


def cli(*args: str, url: str | None = None, token: str | None = None, stdin: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTAGENCY_")}
    if url:
        env["TRUSTAGENCY_API_URL"] = url
    if token:
        env["TRUSTAGENCY_API_TOKEN"] = token
    env["COLUMNS"] = "160"
    env["XDG_CONFIG_HOME"] = str(Path(__file__).parent / "no-such-config")  # no stored login
    return subprocess.run([str(BIN), *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(autouse=True)
def _entry_point_installed() -> None:
    assert BIN.exists(), f"{BIN} is missing: run `pip install -e '.[dev]'`"


def test_generate_watches_the_batch_and_writes_the_articles(database, tmp_path, start_worker):
    start_worker(concurrency=2, offline_delay="0.3")
    titles_file = tmp_path / "titles.txt"
    titles = ["Budgeting for students", "Index funds explained", "Pros/cons of ETFs"]
    titles_file.write_text(f"{titles[0]}\n\n{titles[1]}\n   {titles[2]}  \n")
    with running_api(database, tmp_path) as server:
        done = cli("generate", "--category", "guide", str(titles_file), url=server.url)
        assert done.returncode == 0, done.stderr + done.stdout
        assert "Submitted batch" in done.stderr and "3/3" in done.stderr  # the progress bar
        assert "All 3 articles written" in done.stdout
        task_id = done.stderr.split("Submitted batch ", 1)[1].split(":", 1)[0].strip()

        status = cli("status", task_id, "--json", url=server.url)
        assert status.returncode == 0
        body = json.loads(status.stdout)
        assert body["status"] == "completed" and [i["title"] for i in body["items"]] == titles

        out = tmp_path / "articles"
        saved = cli("articles", task_id, "--out", str(out), "--json", url=server.url)
        assert saved.returncode == 0, saved.stderr
        written = json.loads(saved.stdout)
        names = sorted(p.name for p in out.iterdir())
        assert names == ["01-budgeting-for-students.md", "02-index-funds-explained.md",
                         "03-pros-cons-of-etfs.md", "manifest.csv"]
        assert [Path(w["path"]).name for w in written] == names[:3]
        api_articles = http.get(f"{server.url}/api/articles",
                                params={"task_id": task_id}).json()["items"]
        by_title = {a["title"]: a for a in api_articles}
        # The ZIP export's files: YAML front matter, then the Markdown.
        _, meta, body = (out / names[2]).read_text().split("---\n", 2)
        front = yaml.safe_load(meta)
        assert (front["title"], front["status"], front["version"]) == (titles[2], "draft", 1)
        assert body.strip() == by_title[titles[2]]["content"].strip()

        # Titles on stdin, the URL as an option, JSON for scripts.
        piped = cli("--api-url", server.url, "generate", "-c", "news", "-", "--json",
                    stdin="From stdin one\nFrom stdin two\n")
        assert piped.returncode == 0, piped.stderr
        result = json.loads(piped.stdout)
        assert result["status"] == "completed" and result["category"] == "news"
        assert [i["title"] for i in result["items"]] == ["From stdin one", "From stdin two"]


def test_exit_code_says_whether_every_item_succeeded(database, tmp_path, start_worker,
                                                     fake_llm, llm_env):
    from tests.support.fake_openai import Behavior

    fake_llm.add_rule("Doomed", [Behavior(kind="400")], then=Behavior())
    start_worker(concurrency=2, **llm_env)
    with running_api(database, tmp_path) as server:
        failed = cli("generate", "--json", "Fine title", "Doomed title", url=server.url)
        assert failed.returncode == 1, failed.stderr
        result = json.loads(failed.stdout)
        assert result["status"] == "partially_completed" and result["failed"] == 1

        retried = cli("retry", result["task_id"], url=server.url)
        assert retried.returncode == 0, retried.stderr + retried.stdout
        assert "All 2 articles written" in retried.stdout


def test_cancel_stops_a_running_batch(database, tmp_path, start_worker):
    # Each article takes 30 s (checked for a cancel every 6 s), so the cancel lands while the
    # first one runs and the other two wait, however long the CLI takes to start: with 2 s
    # articles, a CLI that took 6 s to start on busy cores found two already written.
    start_worker(concurrency=1, offline_delay="30")
    with running_api(database, tmp_path) as server:
        submitted = cli("generate", "--no-wait", "--json", "Slow one", "Slow two", "Slow three",
                        url=server.url)
        assert submitted.returncode == 0, submitted.stderr
        task_id = json.loads(submitted.stdout)["task_id"]
        wait_for(lambda: http.get(f"{server.url}/api/tasks/{task_id}/status").json()["items"][0]
                 ["status"] == "processing", timeout=30, message="the first item to run")

        cancelled = cli("cancel", task_id, url=server.url)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"Cancel requested for batch {task_id}" in cancelled.stdout
        watched = cli("status", task_id, "--wait", "--json", url=server.url)
        assert watched.returncode == 1
        final = json.loads(watched.stdout)
        assert final["status"] == "cancelled" and final["cancelled"] >= 2
        assert final["items"][0]["status"] in {"cancelled", "completed"}

        again = cli("cancel", task_id, url=server.url)
        assert again.returncode == 5 and "already ended" in again.stderr


def test_errors_say_what_to_do(database, tmp_path):
    down = cli("status", "abc", "--api-url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 3
    assert "cannot reach the TrustAgency API" in down.stderr and "make run" in down.stderr

    with running_api(database, tmp_path, api_token=CLI_TOKEN,
                     api_allow_unauthenticated="false") as server:
        no_token = cli("status", "abc", url=server.url)
        assert no_token.returncode == 4 and "TRUSTAGENCY_API_TOKEN" in no_token.stderr
        wrong = cli("status", "abc", "--token", "nope", url=server.url)
        assert wrong.returncode == 4 and "refused the token" in wrong.stderr
        unknown = cli("status", "abc", url=server.url, token=CLI_TOKEN)
        assert unknown.returncode == 2 and "no batch 'abc'" in unknown.stderr

        bad_category = cli("generate", "-c", "Not a slug!", "A title", url=server.url,
                           token=CLI_TOKEN)
        assert bad_category.returncode == 2
        assert "category: must be a short slug" in bad_category.stderr
        too_long = cli("generate", "x" * 301, url=server.url, token=CLI_TOKEN)
        assert too_long.returncode == 2
        assert "titles[0]: at most 300 characters, got 301" in too_long.stderr
        as_json = cli("generate", "--json", "x" * 301, url=server.url, token=CLI_TOKEN)
        assert json.loads(as_json.stdout)["exit_code"] == 2
        assert http.get(f"{server.url}/api/tasks",
                        headers={"Authorization": f"Bearer {CLI_TOKEN}"}).json()["total"] == 0

    missing = cli("generate", str(tmp_path / "missing.txt"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    for command in ("generate", "status", "cancel", "retry", "articles", "profiles", "up"):
        shown = cli(command, "--help")
        assert shown.returncode == 0 and f"usage: trustagency {command}" in shown.stdout


def test_languages_profiles_and_readable_file_names(database, tmp_path, start_worker):
    start_worker(concurrency=2)
    titles = ["什么是 ETF？新手投资入门", "Pros/cons: ETFs vs. funds"]
    with running_api(database, tmp_path) as server:
        done = cli("generate", "--json", "-c", "news", "--language", "zh-CN", *titles,
                   url=server.url)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["language"] == "zh-CN"
        assert {i["language"] for i in result["items"]} == {"zh-CN"}
        out = tmp_path / "articles"
        saved = cli("articles", result["task_id"], "--out", str(out), url=server.url)
        assert saved.returncode == 0, saved.stderr
        assert sorted(p.name for p in out.iterdir()) == [
            "01-什么是-etf-新手投资入门.md", "02-pros-cons-etfs-vs-funds.md", "manifest.csv"]
        shown = cli("status", result["task_id"], url=server.url)
        assert "zh-CN" in shown.stdout and "news" in shown.stdout

        listed = cli("profiles", "list", "--json", url=server.url)
        assert listed.returncode == 0, listed.stderr
        assert [p["category"] for p in json.loads(listed.stdout)["items"]] == [
            "default", "guide", "news", "review"]
        changed = cli("profiles", "set", "news", "--min-words", "200", "--model", "news-mini",
                      "--json", url=server.url)
        assert changed.returncode == 0, changed.stderr
        news = json.loads(changed.stdout)
        assert (news["version"], news["min_words"], news["model"]) == (1, 200, "news-mini")
        shown = cli("profiles", "show", "pets", url=server.url)
        assert shown.returncode == 0 and "default · built-in" in shown.stdout
        assert "has no profile of its own" in shown.stdout
        bad = cli("profiles", "set", "news", "--min-words", "5", url=server.url)
        assert bad.returncode == 2 and "min_words: must be between 50" in bad.stderr
        deleted = cli("profiles", "delete", "news", url=server.url)
        assert deleted.returncode == 0 and "built-in" in deleted.stdout
        again = cli("profiles", "delete", "news", url=server.url)
        assert again.returncode == 2 and "has no stored profile" in again.stderr


def test_priority_and_owner_on_submit_and_list(database, tmp_path, start_worker):
    start_worker(concurrency=2)
    with running_api(database, tmp_path) as server:
        # `submit` is `generate` under the name the issue uses.
        desk = cli("submit", "--priority", "high", "--owner", " 编辑部 ", "--no-wait", "--json",
                   "-c", "news", "Rates today", url=server.url)
        assert desk.returncode == 0, desk.stderr
        desk_batch = json.loads(desk.stdout)
        assert (desk_batch["priority"], desk_batch["owner"]) == ("high", "编辑部")
        alice = cli("generate", "-p", "low", "-o", "alice", "A slow guide", url=server.url)
        assert alice.returncode == 0, alice.stderr + alice.stdout
        assert "low priority, owner alice" in alice.stderr
        assert "low priority · owner alice" in alice.stdout  # the finished batch's table
        plain = cli("generate", "--no-wait", "--json", "No owner here", url=server.url)
        plain_batch = json.loads(plain.stdout)
        assert (plain_batch["priority"], plain_batch["owner"]) == ("normal", None)

        mine = cli("list", "--owner", "alice", "--json", url=server.url)
        assert mine.returncode == 0, mine.stderr
        page = json.loads(mine.stdout)
        assert page["total"] == 1 and page["items"][0]["owner"] == "alice"
        high = json.loads(cli("list", "--priority", "high", "--json", url=server.url).stdout)
        assert [b["task_id"] for b in high["items"]] == [desk_batch["task_id"]]
        table = cli("list", url=server.url)
        assert table.returncode == 0, table.stderr
        assert "batches 1-3 of 3" in table.stdout and "编辑部" in table.stdout
        assert "alice" in table.stdout and "high" in table.stdout
        paged = cli("list", "--limit", "1", url=server.url)
        assert "batches 1-1 of 3" in paged.stdout and "more: --offset 1" in paged.stdout
        shown = cli("status", desk_batch["task_id"], url=server.url)
        assert "high priority · owner 编辑部" in shown.stdout

        too_long = cli("submit", "--owner", "x" * 101, "A title", url=server.url)
        assert too_long.returncode == 2 and "owner: at most 100 characters" in too_long.stderr
        bad_filter = cli("list", "--owner", "x" * 101, url=server.url)
        assert bad_filter.returncode == 2 and "owner" in bad_filter.stderr
        wrong = cli("list", "--priority", "urgent", url=server.url)
        assert wrong.returncode == 2 and "invalid choice: 'urgent'" in wrong.stderr
        for command in ("submit", "list"):
            shown = cli(command, "--help")
            assert shown.returncode == 0 and "--priority" in shown.stdout
            assert "--owner" in shown.stdout
