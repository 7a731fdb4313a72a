"""Open-loop HTTP load at a fixed rate, on loopback, bounded in count and time.

A minimal HTTP/1.1 keep-alive client on asyncio (uvloop when present): httpx spent more CPU per
request than the API it measured, so at 200 req/s on two cores the client, not the server, set
the latency. Latency counts from the moment a request was due, so a slow server (or a lagging
client) shows up instead of being hidden by coordinated omission.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    rate: float
    latencies: dict[str, list[float]] = field(default_factory=dict)  # path -> ms
    errors: int = 0
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


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


class Load:
    """GETs to `paths` in turn at `rate` per second until stop() or `max_seconds`."""

    def __init__(self, base_url: str, paths: list[str], rate: float, max_seconds: float,
                 connections: int = 32) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.paths, self.rate, self.max_seconds = paths, rate, max_seconds
        self.connections = connections
        self.result = LoadResult(rate=rate, latencies={p: [] for p in paths})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> LoadResult:
        self._stop.set()
        self._thread.join(30)
        return self.result

    def _main(self) -> None:
        try:
            import uvloop

            uvloop.run(self._run())
        except ImportError:
            asyncio.run(self._run())

    async def _one(self, pool: asyncio.Queue[_Conn], path: str, due: float) -> None:
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()
        conn = await pool.get()
        try:
            ok = await asyncio.wait_for(conn.get(request), 10) == 200
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            ok = False
            conn.writer.close()
            conn = _Conn(*await asyncio.open_connection(self.host, self.port))
        pool.put_nowait(conn)
        if ok:
            self.result.latencies[path].append((time.perf_counter() - due) * 1000)
        else:
            self.result.errors += 1

    async def _run(self) -> None:
        pool: asyncio.Queue[_Conn] = asyncio.Queue()
        for _ in range(self.connections):
            pool.put_nowait(_Conn(*await asyncio.open_connection(self.host, self.port)))
        pending: set[asyncio.Task[None]] = set()
        t0 = time.perf_counter()
        i = 0
        while not self._stop.is_set() and i < self.rate * self.max_seconds:
            due = t0 + i / self.rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._one(pool, self.paths[i % len(self.paths)], due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
        if pending:
            await asyncio.wait(pending, timeout=10)
        self.result.seconds = time.perf_counter() - t0
        while not pool.empty():
            conn = pool.get_nowait()
            conn.writer.close()
            with contextlib.suppress(OSError):
                await conn.writer.wait_closed()
