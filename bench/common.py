"""What every scenario shares: the bench's Redis and settings, and the API calls it makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import procs

FINAL = ("completed", "partially_completed", "failed", "cancelled")
CHUNKS = 8  # streamed content chunks per fake completion


@dataclass
class Context:
    """The run's working directory, its private Redis and the databases it may use."""

    workdir: Path
    redis_url: str
    sqlite_url: str = ""  # a fresh database per scenario group (bench/run.py)
    postgres_url: str | None = None
    quick: bool = False
    checks: str | None = None  # QUALITY_CHECKS for the services; None: their default (all)
    _fakes: dict[tuple[float, int], tuple[procs.Proc, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import redis

        self.broker = redis.Redis.from_url(f"{self.redis_url}/0")
        self.events = redis.Redis.from_url(f"{self.redis_url}/2")

    def env(self, llm_url: str, database_url: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update({
            "CELERY_BROKER_URL": f"{self.redis_url}/0",
            "CELERY_RESULT_BACKEND": f"{self.redis_url}/1",
            "REDIS_URL": f"{self.redis_url}/2",
            "DATABASE_URL": database_url or self.sqlite_url, "OPENAI_BASE_URL": llm_url,
            "OPENAI_API_KEY": "sk-bench", "OPENAI_MODEL": "bench-model", "LLM_PROVIDER": "",
            "MAX_TITLES_PER_BATCH": "2000", "LOG_LEVEL": "INFO", "API_TOKEN": "",
            "LLM_RPM": "0", "LLM_TPM": "0", "PYTHONPATH": str(procs.ROOT),
        })
        if self.checks is not None:
            env["QUALITY_CHECKS"] = self.checks
        env.update(extra)
        return env

    def fake_llm(self, latency: float, chunks: int = CHUNKS) -> str:
        """The fake OpenAI-compatible server at this latency, streaming each answer in `chunks`
        pieces (started once per run)."""
        if (latency, chunks) not in self._fakes:
            env = {**os.environ, "PYTHONPATH": str(procs.ROOT)}
            self._fakes[latency, chunks] = procs.fake_llm(latency, chunks, env, self.workdir)
        return self._fakes[latency, chunks][1]

    def fake_procs(self) -> list[procs.Proc]:
        return [proc for proc, _ in self._fakes.values()]

    def commands(self) -> Counter[str]:
        """Redis calls by command since the last CONFIG RESETSTAT, without the bench's own."""
        calls = procs.command_calls(self.broker)
        for own in ("info", "config|resetstat", "config"):
            calls.pop(own, None)
        return calls

    def child(self, module: str, env: dict[str, str], *args: str,
              timeout: float = 300) -> dict[str, Any]:
        """`python -m module args` in a fresh process with `env`; its last stdout line is JSON."""
        out = subprocess.run([procs.PY, "-m", module, *args], cwd=procs.ROOT, env=env,
                             capture_output=True, text=True, timeout=timeout, check=False)
        log = self.workdir / f"{module.rsplit('.', 1)[-1]}.log"
        with log.open("a") as f:
            f.write(out.stderr)
        if out.returncode != 0 or not out.stdout.strip():
            raise RuntimeError(f"{module} failed ({out.returncode}):\n{out.stderr[-3000:]}")
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def guarded(out: dict[str, Any], name: str, fn: Callable[[], dict[str, Any]]) -> None:
    """out[name] = fn(), or the error it raised: one scenario failing keeps the others'."""
    try:
        out[name] = fn()
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        out[name] = {"error": f"{type(exc).__name__}: {exc}"}


class Unsupported(Exception):
    """The API refused a field the scenario needs (422 naming it)."""


def post(client: httpx.Client, titles: list[str], **fields: Any) -> str:
    """Submit a batch; Unsupported when the API rejects one of `fields` by name."""
    response = client.post("/api/tasks/generate-articles",
                           json={"titles": titles, "category": "bench", **fields})
    if response.status_code == 422 and fields:
        named = {e.get("field", "") for e in response.json().get("errors", [])}
        refused = sorted(f for f in fields if any(n == f or n.endswith(f".{f}") or
                                                  n.startswith(f) for n in named))
        if refused:
            raise Unsupported(", ".join(refused) + ": " + response.json().get("detail", ""))
    response.raise_for_status()
    return str(response.json()["task_id"])


def wait_final(client: httpx.Client, task_id: str, timeout: float,
               interval: float = 0.1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = client.get(f"/api/tasks/{task_id}/progress").json()
        if progress["status"] in FINAL:
            return dict(client.get(f"/api/tasks/{task_id}/status").json())
        time.sleep(interval)
    raise TimeoutError(f"batch {task_id} did not end within {timeout} s")


def ts(value: str | None) -> float | None:
    """An API timestamp (naive means UTC) as seconds since the epoch."""
    if value is None:
        return None
    when = datetime.fromisoformat(value)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def finished_at(status: dict[str, Any]) -> float:
    value = ts(status["finished_at"])
    assert value is not None
    return value


def intervals(status: dict[str, Any]) -> list[tuple[float, float]]:
    """(started_at, finished_at) of the batch's items that ran."""
    out = []
    for item in status["items"]:
        start, end = ts(item.get("started_at")), ts(item.get("finished_at"))
        if start is not None and end is not None:
            out.append((start, end))
    return out


def verdict(met: bool) -> str:
    return "PASS" if met else "**MISS**"
