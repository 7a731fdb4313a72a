"""The API as a real HTTP server: `uvicorn app.main:app` in a subprocess on a free port.

Browsers, the CLI and SSE clients need a socket, not the in-process TestClient. The server gets
the test's DATABASE_URL; broker and Redis settings are inherited from the test session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.stack import ROOT, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiServer:
    def __init__(self, database_url: str, logdir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / f"uvicorn-{self.port}.log"
        self.env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT),
                    **{k.upper(): str(v) for k, v in env.items()}}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--timeout-graceful-shutdown", "2"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"uvicorn exited:\n{self.log_tail()}")
            try:
                return httpx.get(f"{self.url}/static/app.js", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        # Importing the app and loading the title language detector take seconds on a busy
        # machine: a generous bound, ended by the first answer.
        wait_for(up, timeout=120, interval=0.1, message="uvicorn to answer")
        return self

    def log_tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@contextmanager
def running_api(database_url: str, logdir: Path, **env: str) -> Iterator[ApiServer]:
    """`with running_api(database, tmp_path, API_TOKEN="x") as server: server.url ...`"""
    server = ApiServer(database_url, logdir, **env).start()
    try:
        yield server
    finally:
        server.stop()
