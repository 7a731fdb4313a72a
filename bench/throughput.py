"""Throughput at L=0: the service's articles/s on 8 thread slots against bare Celery's no-op.

- bare: `bench.tasks.noop_result` (results stored in the result backend on the same Redis) and
  `bench.tasks.noop` (no result), N tasks on the same worker flags, pool and slots;
- the service: one batch of N titles through the API, from the POST to its `finished_at`, with
  every default quality check.

Target (issue 20): the service's rate ≥ 25 % of bare Celery's no-op-with-results rate. What an
article costs by phase is bench/cost.py's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from app.cli.embedded_redis import free_port
from bench import procs
from bench.common import Context, finished_at, post, wait_final

C = 8
N = 2000


def run(ctx: Context, which: list[str]) -> dict[str, Any]:
    n = 200 if ctx.quick else N
    out: dict[str, Any] = {"C": C, "N": n, "bare": bare(ctx, n)}
    out["service"] = service(ctx, n)
    return {"throughput": out}


@contextmanager
def _no_result_subscription(app: Any) -> Iterator[None]:
    """Sending a task that keeps its result makes the *sender* subscribe to its result channel
    (one SUBSCRIBE per task, in this process). That is the caller's cost, not the worker's, and
    the service's API never waits on item results: leave it out of the baseline."""
    backend = app.backend
    saved = backend.on_task_call
    backend.on_task_call = lambda *_a, **_k: None
    try:
        yield
    finally:
        backend.on_task_call = saved


def bare(ctx: Context, n: int) -> dict[str, Any]:
    from app.celery_app import app

    env = ctx.env(ctx.fake_llm(0.0))
    w = procs.worker("bare8", env, ctx.workdir, pool="threads", concurrency=C,
                     include="bench.tasks")
    out: dict[str, Any] = {}
    try:
        for name in ("noop_result", "noop"):
            ctx.events.delete("bench:done")
            ctx.broker.config_resetstat()
            cpu0, t0 = procs.cpu_seconds(w.pid), time.perf_counter()
            with _no_result_subscription(app):
                for _ in range(n):
                    app.send_task(f"bench.tasks.{name}", ignore_result=name == "noop")
            polls = 0
            deadline = time.monotonic() + 300
            while int(ctx.events.get("bench:done") or 0) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"bare {name}: not done in 300 s")
                polls += 1
                time.sleep(0.02)
            seconds = time.perf_counter() - t0
            calls = ctx.commands()
            calls["get"] -= polls + 1  # the bench's own polling
            out[name] = {"seconds": seconds, "rate": n / seconds, "n": n,
                         "cpu": procs.cpu_seconds(w.pid) - cpu0, "commands": +calls}
    finally:
        w.stop()
    return out


def service(ctx: Context, n: int) -> dict[str, Any]:
    port = free_port()
    env = ctx.env(ctx.fake_llm(0.0))
    api = procs.api_server(env, port, ctx.workdir)
    w = procs.worker("threads8-L0", env, ctx.workdir, pool="threads", concurrency=C)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            client.post(f"/api/tasks/{post(client, ['Warm-up title'])}/cancel")  # see makespan
            ctx.broker.config_resetstat()
            cpu0, t0 = procs.cpu_seconds(w.pid), time.time()
            task_id = post(client, [f"Throughput title {i}" for i in range(n)])
            status = wait_final(client, task_id, timeout=900, interval=0.1)
            cpu = procs.cpu_seconds(w.pid) - cpu0
            calls = ctx.commands()
    finally:
        w.stop()
        api.stop()
    seconds = finished_at(status) - t0
    return {"seconds": seconds, "rate": n / seconds, "n": n, "cpu": cpu, "commands": calls,
            "status": status["status"], "completed": status["completed"]}
