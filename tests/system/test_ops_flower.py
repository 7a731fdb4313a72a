"""Flower from the repo root: basic auth, loopback by default, workers and tasks in its API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.cli.embedded_redis import free_port
from tests.support.api_helpers import submit, wait_final
from tests.support.stack import ROOT, wait_for

AUTH = ("admin", "flower-pass-42")


class Flower:
    """`celery -A app.celery_app flower --port=N`, run from the repo root like a user would."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "app.celery_app", "flower",
                 f"--port={self.port}", *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, auth: tuple[str, str] | None = AUTH) -> httpx.Response:
        return httpx.get(self.url + path, auth=auth, timeout=5)

    def wait_up(self) -> None:
        def answering() -> bool:
            assert self.proc.poll() is None, f"flower exited:\n{self.log()}"
            try:
                self.get("/healthcheck", auth=None)
                return True
            except httpx.TransportError:
                return False

        wait_for(answering, timeout=40, interval=0.2, message="flower to listen")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def flower_env(database: str, llm_env: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database, "FLOWER_BASIC_AUTH": ":".join(AUTH)}
    env.pop("PYTHONPATH", None)  # from the repo root, no PYTHONPATH needed
    return env


@pytest.fixture
def flower(flower_env: dict[str, str], tmp_path: Path) -> Iterator[Flower]:
    proc = Flower(flower_env, tmp_path / "flower.log")
    try:
        proc.wait_up()
        yield proc
    finally:
        proc.stop()


def test_flower_shows_workers_and_tasks_behind_basic_auth(api, start_worker, flower, llm_env):
    worker = start_worker(concurrency=2, **llm_env)

    # Without credentials (or with wrong ones): 401, nothing shown.
    assert flower.get("/api/workers", auth=None).status_code == 401
    assert flower.get("/api/workers", auth=("admin", "wrong")).status_code == 401
    assert flower.get("/", auth=None).status_code == 401

    def listed() -> dict | None:
        workers = flower.get("/api/workers?refresh=1").json()
        return workers.get(worker.hostname)

    info = wait_for(listed, timeout=30, interval=0.5, message="flower to list the worker")
    assert "app.tasks.ai_generation.generate_single_article" in info["registered"]
    # The LLM key lives in the worker's environment; Flower must not show it.
    assert llm_env["OPENAI_API_KEY"] not in flower.get("/api/workers").text

    # Workers start with task events off (CELERY_TASK_EVENTS=false, the cheaper default);
    # Flower switches them on itself every few seconds. Wait until it sees a probe task.
    from app.celery_app import debug_task

    def probe_seen() -> bool:
        probe = debug_task.delay()
        probe.get(timeout=10)
        return flower.get(f"/api/task/info/{probe.id}").status_code == 200

    wait_for(probe_seen, timeout=40, interval=1, message="flower to switch task events on")

    batch = submit(api, ["Flower title one", "Flower title two"])
    wait_final(api, batch["task_id"])

    def item_tasks() -> list[dict]:
        tasks = flower.get("/api/tasks?taskname=app.tasks.ai_generation.generate_single_article"
                           "&state=SUCCESS").json()
        return [t for t in tasks.values() if t["worker"] == worker.hostname]

    done = wait_for(lambda: len(item_tasks()) == 2 and item_tasks(), timeout=30, interval=0.5,
                    message="flower to show the two item tasks")
    one = flower.get(f"/api/task/info/{done[0]['uuid']}")
    assert one.status_code == 200 and one.json()["state"] == "SUCCESS"
    assert one.json()["result"] and "completed" in one.json()["result"]
    # The batch's own task is there too, under the id the API reports.
    batch_task = flower.get(f"/api/task/info/{batch['celery_task_id']}")
    assert batch_task.status_code == 200
    assert batch_task.json()["name"] == "app.tasks.ai_generation.generate_article_batch"
    assert batch["task_id"] in batch_task.json()["args"]


def test_flower_refuses_a_public_address_without_auth(flower_env, tmp_path):
    env = {**flower_env}
    env.pop("FLOWER_BASIC_AUTH")
    proc = Flower(env, tmp_path / "flower-open.log", "--address=0.0.0.0")
    try:
        assert proc.proc.wait(60) != 0
    finally:
        proc.stop()
    assert "refusing to listen on '0.0.0.0' without FLOWER_BASIC_AUTH" in proc.log()


def test_flower_binds_to_loopback_by_default(flower):
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{flower.port}"], capture_output=True,
                               text=True, check=False).stdout
    if not listening.strip():
        pytest.skip("`ss` is not available to list listening sockets")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()}
    assert addresses <= {"127.0.0.1", "[::1]"}, addresses
