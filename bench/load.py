"""Open-loop HTTP load at a fixed rate, on loopback, bounded in count and time."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadResult:
    rate: float
    latencies: dict[str, list[float]] = field(default_factory=dict)  # path -> ms
    errors: int = 0
    late: int = 0  # requests that left more than 10 ms behind schedule (client lag)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + self.errors

    def summary(self, path: str) -> tuple[float, float, int]:
        """(p50, p99, count) in ms for one path."""
        values = sorted(self.latencies.get(path, []))
        if not values:
            return float("nan"), float("nan"), 0
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return statistics.median(values), p99, len(values)


class Load:
    """Sends GETs to `paths` in turn at `rate` per second until stop() or `max_seconds`."""

    def __init__(self, base_url: str, paths: list[str], rate: float, max_seconds: float) -> None:
        self.base_url, self.paths, self.rate, self.max_seconds = base_url, paths, rate, max_seconds
        self.result = LoadResult(rate=rate, latencies={p: [] for p in paths})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> LoadResult:
        self._stop.set()
        self._thread.join(30)
        return self.result

    async def _one(self, client: httpx.AsyncClient, path: str, scheduled: float) -> None:
        started = time.perf_counter()
        if started - scheduled > 0.010:
            self.result.late += 1
        try:
            response = await client.get(path)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok:
            self.result.latencies[path].append((time.perf_counter() - started) * 1000)
        else:
            self.result.errors += 1

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=10) as client:
            t0 = time.perf_counter()
            pending: set[asyncio.Task[None]] = set()
            i = 0
            while not self._stop.is_set() and i < self.rate * self.max_seconds:
                scheduled = t0 + i / self.rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(self._one(client, self.paths[i % len(self.paths)],
                                                     scheduled))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
            if pending:
                await asyncio.wait(pending, timeout=10)
            self.result.seconds = time.perf_counter() - t0
