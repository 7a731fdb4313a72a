"""`make bench`: the service against bare Celery, on a real redis-server and the fake LLM.

    .venv/bin/python -m bench.run [--postgres auto|none|URL] [--out bench/RESULTS.md]

Runs in about five minutes and writes bench/RESULTS.md (see bench/report.py for the table).
Everything listens on loopback only and every phase is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.cli.embedded_redis import RedisServer, free_port
from bench import procs
from bench.load import Load

N, L, C = 200, 2.0, 20  # the makespan run
N0 = 500  # articles in the L=0 overhead run
API_RATE = 200  # requests/s on /progress and /status during the makespan run
RPM, RPM_SPAN = 120, 60.0  # the shared rate limit run
CHUNKS = 8  # streamed content chunks per fake completion


class Bench:
    def __init__(self, workdir: Path, redis_url: str, fakes: dict[str, str]) -> None:
        import redis

        self.workdir, self.redis_url, self.fakes = workdir, redis_url, fakes
        self.redis = redis.Redis.from_url(f"{redis_url}/0")
        self.events = redis.Redis.from_url(f"{redis_url}/2")

    def env(self, database_url: str, llm_url: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update({
            "CELERY_BROKER_URL": f"{self.redis_url}/0",
            "CELERY_RESULT_BACKEND": f"{self.redis_url}/1",
            "REDIS_URL": f"{self.redis_url}/2",
            "DATABASE_URL": database_url, "OPENAI_BASE_URL": llm_url,
            "OPENAI_API_KEY": "sk-bench", "OPENAI_MODEL": "bench-model", "LLM_PROVIDER": "",
            "MAX_TITLES_PER_BATCH": "1000", "LOG_LEVEL": "INFO", "API_TOKEN": "",
            "LLM_RPM": "0", "LLM_TPM": "0", "PYTHONPATH": str(procs.ROOT),
        })
        env.update(extra)
        return env

    def reset_redis(self) -> None:
        self.redis.flushall()

    def commands(self) -> Counter[str]:
        calls = procs.command_calls(self.redis)
        for own in ("info", "config|resetstat", "config"):
            calls.pop(own, None)
        return calls

    # -- bare Celery ---------------------------------------------------------------------
    def bare(self) -> dict[str, Any]:
        """The baselines: sleep(L) makespan, no-op and LLM-call-only tasks at C slots."""
        from app.celery_app import app

        env = self.env(f"sqlite:///{self.workdir / 'bare.db'}", self.fakes["L0"])
        w = procs.worker("bare", env, self.workdir, pool="threads", concurrency=C,
                         include="bench.tasks")
        out: dict[str, Any] = {}
        try:
            def run(name: str, count: int, args: Any) -> dict[str, Any]:
                self.events.delete("bench:done")
                self.redis.config_resetstat()
                cpu0, t0 = procs.cpu_seconds(w.pid), time.perf_counter()
                for i in range(count):  # as dispatch sends items: no result to wait for
                    app.send_task(name, args=args(i), ignore_result=True)
                polls = 0
                while int(self.events.get("bench:done") or 0) < count:
                    polls += 1
                    time.sleep(0.02)
                seconds = time.perf_counter() - t0
                calls = self.commands()
                calls["get"] -= polls + 1  # the bench's own polling
                return {"seconds": seconds, "cpu": procs.cpu_seconds(w.pid) - cpu0,
                        "commands": +calls, "n": count}

            out["sleep"] = run("bench.tasks.sleep", N, lambda i: [L])
            out["noop"] = run("bench.tasks.noop", N0, lambda i: [])
            out["llm"] = run("bench.tasks.llm_call", N0, lambda i: [f"Bare title {i}"])
            out["rss"] = procs.rss_mb(w.pid)
        finally:
            w.stop()
        return out

    # -- the service ---------------------------------------------------------------------
    def service(self, label: str, database_url: str, primary: bool) -> dict[str, Any]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        self.reset_redis()
        api = procs.api_server(self.env(database_url, self.fakes["L2"]), port, self.workdir)
        out: dict[str, Any] = {}
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                out["makespan"] = self.makespan(client, base, database_url, pool="threads")
                out["overhead"] = self.overhead(client, database_url)
                if primary:
                    out["events"] = self.overhead(client, database_url,
                                                  CELERY_TASK_EVENTS="true")
                    out["prefork"] = self.makespan(client, None, database_url, pool="prefork")
                    out["ratelimit"] = self.ratelimit(client, database_url)
                out["bulk"] = bulk_submit(client, base)
        finally:
            api.stop()
            self.reset_redis()
        out["label"] = label
        return out

    def makespan(self, client: httpx.Client, base: str | None, database_url: str,
                 pool: str) -> dict[str, Any]:
        """N titles at latency L on C slots; with `base`, API load runs alongside."""
        env = self.env(database_url, self.fakes["L2"])
        w = procs.worker(f"{pool}{C}", env, self.workdir, pool=pool, concurrency=C)
        rss_idle = procs.rss_mb(w.pid)
        peak = Peak(w.pid).start()
        try:
            self.redis.config_resetstat()
            cpu0, t0 = procs.cpu_seconds(w.pid), time.time()
            task_id = post(client, [f"Makespan title {i}" for i in range(N)])
            load = None
            if base:
                paths = [f"/api/tasks/{task_id}/progress", f"/api/tasks/{task_id}/status"]
                load = Load(base, paths, API_RATE, max_seconds=N * L / C * 3).start()
            status = wait_final(client, task_id, timeout=N * L / C * 5)
            loaded = load.stop() if load else None
            cpu = procs.cpu_seconds(w.pid) - cpu0
            calls = self.commands()
        finally:
            rss = peak.stop()
            w.stop()
        seconds = finished_at(status) - t0
        return {"seconds": seconds, "ideal": N * L / C, "status": status["status"],
                "commands": calls, "n": N, "cpu": cpu, "rss": rss, "rss_idle": rss_idle,
                "load": loaded, "pool": pool}

    def overhead(self, client: httpx.Client, database_url: str,
                 **env: str) -> dict[str, Any]:
        """N0 articles at L=0 on C slots: wall, worker CPU and Redis commands per article."""
        w = procs.worker(f"threads{C}-L0", self.env(database_url, self.fakes["L0"], **env),
                         self.workdir, pool="threads", concurrency=C)
        try:
            self.redis.config_resetstat()
            cpu0, t0 = procs.cpu_seconds(w.pid), time.time()
            task_id = post(client, [f"Overhead title {i}" for i in range(N0)])
            status = wait_final(client, task_id, timeout=300, interval=0.05)
            cpu = procs.cpu_seconds(w.pid) - cpu0
            calls = self.commands()
        finally:
            w.stop()
        return {"seconds": finished_at(status) - t0, "cpu": cpu, "commands": calls, "n": N0,
                "status": status["status"]}

    def ratelimit(self, client: httpx.Client, database_url: str) -> dict[str, Any]:
        """Two worker processes share LLM_RPM=120 for RPM_SPAN s (fake LLM in this process,
        so the windows are counted on the provider's own request timestamps)."""
        from tests.support.fake_openai import Behavior, FakeOpenAI

        fake = FakeOpenAI(default=Behavior(latency=0.05, chunks=2)).start()
        env = self.env(database_url, fake.base_url, LLM_RPM=str(RPM))
        workers = []
        try:
            for name in ("rpm-a", "rpm-b"):
                workers.append(procs.worker(name, env, self.workdir, pool="threads",
                                            concurrency=4))
            task_id = post(client, [f"Rate limited title {i}" for i in range(int(RPM * 1.6))])
            deadline = time.monotonic() + RPM_SPAN * 3
            while time.monotonic() < deadline:
                starts = [r.started for r in fake.requests]
                if starts and max(starts) - min(starts) >= RPM_SPAN:
                    break
                time.sleep(0.2)
            client.post(f"/api/tasks/{task_id}/cancel")
            wait_final(client, task_id, timeout=60)
            starts = sorted(r.started for r in fake.requests)
        finally:
            for w in workers:
                w.stop()
            fake.stop()
        return {"busiest": max_in_window(starts, RPM_SPAN),
                "reached": sum(1 for s in starts if s < starts[0] + RPM_SPAN) if starts else 0,
                "limit": RPM, "span": RPM_SPAN}


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
            self.peak = max(self.peak, procs.rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(5)
        return max(self.peak, procs.rss_mb(self.pid))


def post(client: httpx.Client, titles: list[str]) -> str:
    response = client.post("/api/tasks/generate-articles",
                           json={"titles": titles, "category": "bench"})
    response.raise_for_status()
    return str(response.json()["task_id"])


def wait_final(client: httpx.Client, task_id: str, timeout: float,
               interval: float = 0.1) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = client.get(f"/api/tasks/{task_id}/progress").json()
        if progress["status"] in ("completed", "partially_completed", "failed", "cancelled"):
            return dict(client.get(f"/api/tasks/{task_id}/status").json())
        time.sleep(interval)
    raise TimeoutError(f"batch {task_id} did not end within {timeout} s")


def finished_at(status: dict[str, Any]) -> float:
    when = datetime.fromisoformat(status["finished_at"])
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def max_in_window(starts: list[float], window: float) -> int:
    j = best = 0
    for i, start in enumerate(starts):
        while j < len(starts) and starts[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def bulk_submit(client: httpx.Client, base: str) -> dict[str, Any]:
    """Time to 202: one POST of 100 titles (5 times), then 10 such POSTs at once."""
    titles = [f"Bulk title {i}" for i in range(100)]
    singles = []
    for _ in range(5):
        t0 = time.perf_counter()
        post(client, titles)
        singles.append((time.perf_counter() - t0) * 1000)

    async def parallel() -> tuple[float, list[float]]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as aclient:
            async def one() -> float:
                t = time.perf_counter()
                r = await aclient.post("/api/tasks/generate-articles",
                                       json={"titles": titles, "category": "bench"})
                r.raise_for_status()
                return (time.perf_counter() - t) * 1000

            t0 = time.perf_counter()
            each = await asyncio.gather(*(one() for _ in range(10)))
            return (time.perf_counter() - t0) * 1000, list(each)

    wall, each = asyncio.run(parallel())
    return {"single_ms": statistics.median(singles), "single_max_ms": max(singles),
            "parallel_wall_ms": wall, "parallel_median_ms": statistics.median(each)}


@contextmanager
def databases(choice: str) -> Iterator[list[tuple[str, str]]]:
    """SQLite always; PostgreSQL when reachable (a fresh database, dropped afterwards)."""
    from tests.support.stack import migrate, postgres_database

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ta-bench-db-") as tmp:
        sqlite = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(sqlite)
        found = [("SQLite", sqlite)]
        admin = postgres_url(choice)
        if admin:
            found.append(("PostgreSQL", stack.enter_context(postgres_database(admin))))
        yield found


def postgres_url(choice: str) -> str | None:
    if choice == "none":
        return None
    candidates = [choice] if choice != "auto" else [
        os.environ.get("BENCH_POSTGRES_URL", ""), os.environ.get("TEST_POSTGRES_URL", ""),
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"]
    import sqlalchemy as sa

    for url in filter(None, candidates):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
            with engine.connect():
                pass
            engine.dispose()
            return url
        except Exception:
            continue
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks for issue 6; writes RESULTS.md")
    parser.add_argument("--postgres", default="auto", help="auto (default), none, or a URL")
    parser.add_argument("--out", default=str(procs.ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the harness")
    args = parser.parse_args(argv)
    if args.quick:
        global N, N0, RPM_SPAN
        N, N0, RPM_SPAN = 40, 100, 10.0

    workdir = Path(tempfile.mkdtemp(prefix="ta-bench-"))
    server = RedisServer(workdir / "redis").start()
    # This process pings workers and migrates databases: point its settings first.
    os.environ.update({"CELERY_BROKER_URL": f"{server.url}/0",
                       "CELERY_RESULT_BACKEND": f"{server.url}/1",
                       "REDIS_URL": f"{server.url}/2", "LOG_LEVEL": "WARNING"})
    started = time.monotonic()
    load_before = os.getloadavg()
    fakes: dict[str, procs.Proc] = {}
    try:
        env = {**os.environ, "PYTHONPATH": str(procs.ROOT)}
        fakes["L2"], l2 = procs.fake_llm(L, CHUNKS, env, workdir)
        fakes["L0"], l0 = procs.fake_llm(0.0, CHUNKS, env, workdir)
        bench = Bench(workdir, server.url, {"L2": l2, "L0": l0})
        print(f"bench: redis {server.url}, fake LLM {l2} (L={L:g} s) and {l0} (L=0); "
              f"logs in {workdir}", flush=True)
        results: dict[str, Any] = {"bare": bench.bare(), "services": []}
        print("bench: bare Celery done", flush=True)
        with databases(args.postgres) as dbs:
            for i, (label, url) in enumerate(dbs):
                results["services"].append(bench.service(label, url, primary=i == 0))
                print(f"bench: {label} done", flush=True)
        results["redis_version"] = bench.redis.info("server")["redis_version"]
        results["config"] = {"N": N, "L": L, "C": C, "N0": N0, "API_RATE": API_RATE,
                             "CHUNKS": CHUNKS}
        results["minutes"] = (time.monotonic() - started) / 60
        results["load"] = (load_before, os.getloadavg())
    finally:
        for proc in fakes.values():
            proc.stop()
        server.stop()
    from bench.report import write

    write(Path(args.out), results, procs.machine())
    print(f"bench: wrote {args.out} in {results['minutes']:.1f} min", flush=True)


if __name__ == "__main__":
    main()
