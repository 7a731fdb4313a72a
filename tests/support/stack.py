"""Real parts for tests: databases migrated with Alembic, and Celery worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core.names import WORKER_QUEUES

ROOT = Path(__file__).resolve().parents[2]


def migrate(url: str) -> None:
    """Build the schema the way production does: `alembic upgrade head`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    import sqlalchemy as sa

    name = f"ta_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        from app.core.db import reset_engine

        reset_engine()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def use_settings(**env: str | None) -> None:
    """Point this process (API via TestClient, services) at other settings."""
    from app.config import get_settings
    from app.core.db import reset_engine
    from app.core.redis import get_redis
    from app.llm import get_provider
    from app.llm.instrumentation import instrumented_provider

    for key, value in env.items():
        if value is None:
            os.environ.pop(key.upper(), None)
        else:
            os.environ[key.upper()] = str(value)
    get_settings.cache_clear()
    get_provider.cache_clear()
    instrumented_provider.cache_clear()
    get_redis.cache_clear()
    reset_engine()


def wait_for(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Worker:
    """`celery -A app.celery_app worker` in its own process group, so a kill takes its children."""

    def __init__(self, name: str, env: dict[str, str], logdir: Path, pool: str = "prefork",
                 concurrency: int = 4, extra: list[str] | None = None,
                 app: str = "app.celery_app") -> None:
        self.name = name
        self.hostname = f"{name}@{os.uname().nodename}"
        self.env = env
        self.log_path = logdir / f"worker-{name}.log"
        # `app`: another module exposing the Celery app, e.g. tests.support.crash_points.
        self.args = [sys.executable, "-m", "celery", "-A", app, "worker",
                     "-n", self.hostname, "--pool", pool, "--concurrency", str(concurrency),
                     "--queues", ",".join(WORKER_QUEUES),
                     "--loglevel", "INFO", "--without-mingle", "--without-gossip",
                     *(extra or [])]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> Worker:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    # Starting a worker imports the app and forks its pool: seconds when idle, far more when
    # the machine's cores are busy. The bound is generous; the wait ends at the first reply.
    def wait_ready(self, timeout: float = 120) -> None:
        from app.celery_app import app

        def answered() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log_tail()}")
            replies = app.control.ping(destination=[self.hostname], timeout=1) or []
            return any(self.hostname in reply for reply in replies)

        try:
            wait_for(answered, timeout=timeout, interval=0.2, message=f"worker {self.name}")
        except AssertionError:
            print(self.log_tail())
            raise

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def logged(self, text: str) -> bool:
        """Whether `text` is anywhere in the log so far (a tail can lose a line that later
        lines, a traceback at shutdown say, pushed out)."""
        try:
            return text in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and every pool child."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class Beat(Worker):
    """`celery -A app.celery_app beat` (RedBeat) in its own process group, e.g. for the reaper."""

    def __init__(self, env: dict[str, str], logdir: Path, name: str = "beat") -> None:
        super().__init__(name, env, logdir)
        self.log_path = logdir / f"{name}.log"
        self.args = [sys.executable, "-m", "celery", "-A", "app.celery_app", "beat",
                     "--loglevel", "INFO"]

    def wait_ready(self, timeout: float = 120) -> None:
        def scheduling() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"beat exited:\n{self.log_tail()}")
            return "beat: Acquired lock" in self.log_tail(200)

        wait_for(scheduling, timeout=timeout, interval=0.1, message="beat to take its lock")
