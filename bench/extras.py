"""The earlier issues' figures that still apply: the shared rate limit and bulk submits."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx

from app.cli.embedded_redis import free_port
from bench import procs
from bench.common import Context, post, wait_final

RPM, RPM_SPAN = 120, 30.0


def run(ctx: Context, which: list[str]) -> dict[str, Any]:
    port = free_port()
    api = procs.api_server(ctx.env(ctx.fake_llm(0.0)), port, ctx.workdir)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            if "bulk" in which:
                out["bulk"] = bulk_submit(client, f"http://127.0.0.1:{port}")
            if "ratelimit" in which:
                out["ratelimit"] = ratelimit(ctx, client)
    finally:
        api.stop()
    return out


def ratelimit(ctx: Context, client: httpx.Client) -> dict[str, Any]:
    """Two worker processes share LLM_RPM=120 for RPM_SPAN s (fake LLM in this process,
    so the windows are counted on the provider's own request timestamps)."""
    from tests.support.fake_openai import Behavior, FakeOpenAI

    span = 10.0 if ctx.quick else RPM_SPAN
    fake = FakeOpenAI(default=Behavior(latency=0.05, chunks=2)).start()
    env = ctx.env(fake.base_url, LLM_RPM=str(RPM))
    workers = []
    try:
        for name in ("rpm-a", "rpm-b"):
            workers.append(procs.worker(name, env, ctx.workdir, pool="threads", concurrency=4))
        task_id = post(client, [f"Rate limited title {i}" for i in range(int(RPM * 1.6))])
        deadline = time.monotonic() + span * 3
        while time.monotonic() < deadline:
            starts = [r.started for r in fake.requests]
            if starts and max(starts) - min(starts) >= span:
                break
            time.sleep(0.2)
        client.post(f"/api/tasks/{task_id}/cancel")
        wait_final(client, task_id, timeout=60)
        starts = sorted(r.started for r in fake.requests)
    finally:
        for w in workers:
            w.stop()
        fake.stop()
    return {"busiest": max_in_window(starts, span),
            "reached": sum(1 for s in starts if s < starts[0] + span) if starts else 0,
            "limit": RPM, "span": span}


def max_in_window(starts: list[float], window: float) -> int:
    j = best = 0
    for i, start in enumerate(starts):
        while j < len(starts) and starts[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def bulk_submit(client: httpx.Client, base: str) -> dict[str, Any]:
    """Time to 202: one POST of 100 titles (5 times), then 10 such POSTs at once. No worker
    runs; the batches are cancelled afterwards, so nothing is left to dispatch."""
    titles = [f"Bulk title {i}" for i in range(100)]
    singles, ids = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        ids.append(post(client, titles))
        singles.append((time.perf_counter() - t0) * 1000)

    async def parallel() -> tuple[float, list[float]]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as aclient:
            async def one() -> float:
                t = time.perf_counter()
                r = await aclient.post("/api/tasks/generate-articles",
                                       json={"titles": titles, "category": "bench"})
                r.raise_for_status()
                ids.append(str(r.json()["task_id"]))
                return (time.perf_counter() - t) * 1000

            t0 = time.perf_counter()
            each = await asyncio.gather(*(one() for _ in range(10)))
            return (time.perf_counter() - t0) * 1000, list(each)

    wall, each = asyncio.run(parallel())
    for task_id in ids:
        client.post(f"/api/tasks/{task_id}/cancel")
    return {"single_ms": statistics.median(singles), "single_max_ms": max(singles),
            "parallel_wall_ms": wall, "parallel_median_ms": statistics.median(each)}
