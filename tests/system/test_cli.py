"""The `trustagency` command (the installed entry point) against a real uvicorn and workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.cli.main import safe_filename
from tests.support.server import free_port, running_api
from tests.support.stack import wait_for

BIN = Path(sys.executable).parent / "trustagency"


def cli(*args: str, url: str | None = None, token: str | None = None, stdin: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTAGENCY_")}
    if url:
        env["TRUSTAGENCY_API_URL"] = url
    if token:
        env["TRUSTAGENCY_API_TOKEN"] = token
    env["COLUMNS"] = "160"
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
                         "03-pros-cons-of-etfs.md"]
        assert [Path(w["path"]).name for w in written] == names
        api_articles = httpx.get(f"{server.url}/api/articles",
                                 params={"task_id": task_id}).json()["items"]
        by_title = {a["title"]: a["content"] for a in api_articles}
        assert (out / names[2]).read_text() == by_title[titles[2]]

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
    start_worker(concurrency=1, offline_delay="2")
    with running_api(database, tmp_path) as server:
        submitted = cli("generate", "--no-wait", "--json", "Slow one", "Slow two", "Slow three",
                        url=server.url)
        assert submitted.returncode == 0, submitted.stderr
        task_id = json.loads(submitted.stdout)["task_id"]
        wait_for(lambda: httpx.get(f"{server.url}/api/tasks/{task_id}/status").json()["items"][0]
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

    with running_api(database, tmp_path, api_token="cli-token") as server:
        no_token = cli("status", "abc", url=server.url)
        assert no_token.returncode == 4 and "TRUSTAGENCY_API_TOKEN" in no_token.stderr
        wrong = cli("status", "abc", "--token", "nope", url=server.url)
        assert wrong.returncode == 4 and "refused the token" in wrong.stderr
        unknown = cli("status", "abc", url=server.url, token="cli-token")
        assert unknown.returncode == 2 and "no batch 'abc'" in unknown.stderr

        bad_category = cli("generate", "-c", "Not a slug!", "A title", url=server.url,
                           token="cli-token")
        assert bad_category.returncode == 2
        assert "category: must be a short slug" in bad_category.stderr
        too_long = cli("generate", "x" * 301, url=server.url, token="cli-token")
        assert too_long.returncode == 2
        assert "titles[0]: at most 300 characters, got 301" in too_long.stderr
        as_json = cli("generate", "--json", "x" * 301, url=server.url, token="cli-token")
        assert json.loads(as_json.stdout)["exit_code"] == 2
        assert httpx.get(f"{server.url}/api/tasks",
                         headers={"Authorization": "Bearer cli-token"}).json()["total"] == 0

    missing = cli("generate", str(tmp_path / "missing.txt"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    for command in ("generate", "status", "cancel", "retry", "articles", "up"):
        shown = cli(command, "--help")
        assert shown.returncode == 0 and f"usage: trustagency {command}" in shown.stdout


def test_article_file_names_are_safe():
    assert safe_filename("../../etc/passwd") == "etc-passwd"
    assert safe_filename("<img src=x onerror=alert(1)>") == "img-src-x-onerror-alert-1"
    assert safe_filename("Café déjà vu: a guide") == "cafe-deja-vu-a-guide"
    assert safe_filename("///") == "article" and safe_filename("日本語") == "article"
    assert len(safe_filename("word " * 100)) <= 60
