"""Makespan at a fixed provider latency: N titles on C slots against the ideal N·L/C.

- prefork: `start_celery_worker.sh --concurrency=20` (the default pool), N=200, L=2 s, ≤ 1.05
- threads: the same with CELERY_POOL=threads, ≤ 1.03
- c200: C=200 threads in one worker process, N=2,000, L=5 s, ≤ 1.10, worker RSS ≤ 400 MB

The makespan runs from the bench's POST to the batch's `finished_at`; the worker's RSS is the
sum over its process tree (prefork children included), sampled every 0.25 s, the maximum kept.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from app.cli.embedded_redis import free_port
from bench import procs
from bench.common import Context, finished_at, guarded, post, wait_final

RUNS: dict[str, dict[str, Any]] = {
    # The plan's own worker (prefork x4): its memory, with the models loaded before the fork.
    "makespan-prefork4": {"pool": None, "C": 4, "N": 40, "L": 2.0, "target": 1.05},
    "makespan-prefork": {"pool": None, "C": 20, "N": 200, "L": 2.0, "target": 1.05},
    "makespan-threads": {"pool": "threads", "C": 20, "N": 200, "L": 2.0, "target": 1.03},
    "makespan-c200": {"pool": "threads", "C": 200, "N": 2000, "L": 5.0, "target": 1.10,
                      "rss_target": 400.0},
}


def run(ctx: Context, which: list[str]) -> dict[str, Any]:
    port = free_port()
    api = procs.api_server(ctx.env(ctx.fake_llm(0.0)), port, ctx.workdir)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            # A fresh API's first submit loads what it needs (seconds, e.g. language detection):
            # not the makespan's business. One title, cancelled before any worker runs.
            client.post(f"/api/tasks/{post(client, ['Warm-up title'])}/cancel")
            for name in which:
                cfg = dict(RUNS[name])
                if ctx.quick:
                    cfg["N"] = cfg["C"] * 2
                guarded(out, name, lambda: one(ctx, client, name, **cfg))  # noqa: B023
    finally:
        api.stop()
    return out


def one(ctx: Context, client: httpx.Client, name: str, *, pool: str | None, C: int, N: int,
        L: float, target: float, rss_target: float | None = None) -> dict[str, Any]:
    env = ctx.env(ctx.fake_llm(L))
    w = procs.worker(name.removeprefix("makespan-"), env, ctx.workdir, pool=pool, concurrency=C)
    rss_idle, processes = procs.rss_mb(w.pid), len(procs.tree(w.pid))
    peak = procs.Peak(w.pid).start()
    try:
        ctx.broker.config_resetstat()
        cpu0, t0 = procs.cpu_seconds(w.pid), time.time()
        task_id = post(client, [f"Makespan title {i}" for i in range(N)])
        timeout = N * L / C * 6 + 60
        try:
            status = wait_final(client, task_id, timeout=timeout, interval=0.25)
        except TimeoutError:  # a lower bound is still a figure: ratio > timeout / ideal
            status = dict(client.get(f"/api/tasks/{task_id}/status").json())
            status["status"] = f"not finished after {timeout:.0f} s ({status['completed']} done)"
            status["finished_at"] = None
            client.post(f"/api/tasks/{task_id}/cancel")  # the next run must not inherit it
        cpu = procs.cpu_seconds(w.pid) - cpu0
        calls = ctx.commands()
    finally:
        rss = peak.stop()
        w.stop()
    seconds = finished_at(status) - t0 if status["finished_at"] else time.time() - t0
    ideal = N * L / C
    # Items the reaper took back from this (live) worker: their lease ran out mid-run.
    expired = sum(len(m.group(1).split(",")) for m in
                  re.finditer(r"'expired_leases': \[([^\]]+)\]", w.log_path.read_text()))
    return {"pool": pool or "prefork (default)", "C": C, "N": N, "L": L, "seconds": seconds,
            "ideal": ideal, "ratio": seconds / ideal, "target": target, "status": status["status"],
            "rss": rss, "rss_idle": rss_idle, "rss_target": rss_target, "cpu": cpu,
            "commands": calls, "processes": processes, "expired_leases": expired}
