"""Processes for the benchmarks (fake LLM, API, workers) and what we read about them."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
WORKER_SCRIPT = ROOT / "start_celery_worker.sh"

# Every child started here, so that stop_all() can end what a failed scenario left behind.
_started: list[Proc] = []


def stop_all(keep: Collection[Proc] = ()) -> None:
    """Stop every child still running but `keep` (in reverse order of start)."""
    for proc in [p for p in reversed(_started) if p not in keep]:
        proc.stop()


class Proc:
    """A child in its own process group, its output in a log file; stop() ends the group."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logdir: Path,
                 stdout_pipe: bool = False) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, start_new_session=True, stderr=log,
            stdout=subprocess.PIPE if stdout_pipe else log,
        )
        _started.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # Whatever is left in its process group (a prefork child outliving its parent).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ValueError):
            _started.remove(self)

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def fake_llm(latency: float, chunks: int, env: dict[str, str], logdir: Path) -> tuple[Proc, str]:
    """`python -m tests.support.fake_openai` on a free port; returns it and its base URL."""
    proc = Proc(f"fake-llm-L{latency:g}", [PY, "-m", "tests.support.fake_openai", "--port", "0",
                                           "--latency", str(latency), "--chunks", str(chunks)],
                env, logdir, stdout_pipe=True)
    assert proc.proc.stdout is not None
    url = proc.proc.stdout.readline().decode().strip()
    if not url.startswith("http"):
        raise RuntimeError(f"fake LLM did not start: {proc.tail()}")
    return proc, url


def api_server(env: dict[str, str], port: int, logdir: Path) -> Proc:
    """One uvicorn process, as start_backend_daemon runs it, without per-request access logs."""
    proc = Proc("api", [PY, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                        str(port), "--no-access-log", "--log-level", "warning"], env, logdir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/tasks?limit=1", timeout=1).status_code:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.proc.poll() is not None:
            break
    raise RuntimeError(f"the API did not start:\n{proc.tail()}")


def worker(name: str, env: dict[str, str], logdir: Path, *, pool: str | None, concurrency: int,
           include: str | None = None) -> Proc:
    """The plan's worker script, `start_celery_worker.sh --concurrency=C` (both queues), with
    gossip and mingle off; waits until it answers a ping. ``pool=None``: the script's default
    (CELERY_POOL, else prefork); otherwise CELERY_POOL is set to it."""
    from app.celery_app import app

    hostname = f"{name}@{platform.node()}"
    env = {k: v for k, v in env.items() if k not in ("CELERY_POOL", "CELERY_CONCURRENCY")}
    if pool is not None:
        env["CELERY_POOL"] = pool
    args = ["bash", str(WORKER_SCRIPT), f"--concurrency={concurrency}", "-n", hostname,
            "--without-gossip", "--without-mingle"]
    if include:
        args += ["-I", include]
    proc = Proc(f"worker-{name}", args, env, logdir)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"worker {name} exited:\n{proc.tail()}")
        replies = app.control.ping(destination=[hostname], timeout=0.5) or []
        if any(hostname in r for r in replies):
            return proc
    proc.stop()
    raise RuntimeError(f"worker {name} did not answer:\n{proc.tail()}")


class Peak:
    """Samples the RSS of a process tree every 0.25 s and keeps the maximum."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Peak:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(5)
        return max(self.peak, rss_mb(self.pid))


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text()
                         .split()]
        except OSError:
            continue
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of the process tree, in MB (sum of VmRSS)."""
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            continue
    return total / CLK_TCK


def command_calls(client: Any) -> Counter[str]:
    """Redis calls per command since the last CONFIG RESETSTAT (INFO commandstats)."""
    stats = client.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


def machine() -> dict[str, str]:
    import celery
    import kombu
    import openai
    import redis
    import sqlalchemy

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {
        "CPU": f"{cpu}, {os.cpu_count()} logical cores",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "libraries": (f"celery {celery.__version__}, kombu {kombu.__version__}, redis-py "
                      f"{redis.__version__}, openai {openai.__version__}, SQLAlchemy "
                      f"{sqlalchemy.__version__}"),
    }
