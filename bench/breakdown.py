"""What one article costs a worker, by phase: the worker's building blocks called in this process.

    python -m bench.breakdown --n 300 [--category review] [--hundreds]
                              (settings from the environment; prints one JSON line)

Each phase is measured twice: wall time (perf_counter) and this thread's CPU (thread_time, the
figure issue 20 targets: what a worker process spends of its one core's worth of Python). Also
per article: write transactions (commits of a connection that ran INSERT/UPDATE/DELETE) and
Redis commands (INFO commandstats; the Celery message's own commands are not here: bare
Celery's figures in the throughput run are those). `--hundreds` adds the CPU per article of each
hundred (does the cost grow with the library?).

One thread, one item after another, against the real database in DATABASE_URL, the real Redis
and the fake LLM at OPENAI_BASE_URL: `app.batches.generation.runner.run_item` exactly as the Celery
task
calls it, with timers wrapped around the functions it calls. Phases per article:

- feed: handing the item to the queue (the dispatcher's share per item: today
  `dispatch.dispatch_batch` for the whole batch divided by N; with the feeder, `feeder.feed`),
- claim: the claim transaction (`state.claim_item`, the item's job, its commit),
- budget: the cost reservation (nothing when no cap applies) and the checkpoint set-up,
- stream: `ratelimit.generate` (the openai SDK streaming from the fake server),
- quality: `quality_gate.judge` (the checks on the text),
- complete: the completion transaction (`state.complete_item`: article, recount, commit),
- publish: the progress events and the Celery progress mirror sent after/before the commits,
  taken out of claim and complete.

Celery's own per-task cost (broker, ack) is not here: bare Celery's no-op rate in the same run
is that figure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

PHASES = ("feed", "claim", "budget", "stream", "quality", "complete", "publish")


Span = tuple[str, float, float, float, float]  # label, wall start/end, thread CPU start/end


class Timeline:
    """(label, wall start, wall end, CPU start, CPU end) of the wrapped calls, per article."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        fn: Callable[..., Any] = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spans.append((label, t0, time.perf_counter(), c0, time.thread_time()))

        setattr(owner, attr, timed)

    def take(self) -> list[Span]:
        spans, self.spans = self.spans, []
        return spans


def phases(spans: list[Span], cpu: bool = False) -> dict[str, float]:
    """Seconds per phase of one run_item call, from its spans (thread CPU when `cpu`)."""
    at = (3, 4) if cpu else (1, 2)
    pairs = [(span[0], span[at[0]], span[at[1]]) for span in spans]
    first = {label: (s, e) for label, s, e in reversed(pairs)}  # the first span of each label
    t0, t_end = first["run_item"]
    r0, r1 = first.get("reserve", (t0, t0))
    g0, g1 = first["generate"]
    q = sum(e - s for label, s, e in pairs if label == "judge")
    pub_claim = sum(e - s for label, s, e in pairs if label == "publish" and s < r0)
    pub_done = sum(e - s for label, s, e in pairs if label == "publish" and s >= g1)
    return {"claim": r0 - t0 - pub_claim, "budget": g0 - r0, "stream": g1 - g0, "quality": q,
            "complete": t_end - g1 - q - pub_done, "publish": pub_claim + pub_done,
            "reserve_only": r1 - r0}


class WriteTransactions:
    """Commits of a connection that wrote (INSERT, UPDATE, DELETE) since the last `take`."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", lambda conn: conn.info.pop("bench_wrote", None))

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            conn.info["bench_wrote"] = True

    def _commit(self, conn: Any) -> None:
        if conn.info.pop("bench_wrote", None):
            self.count += 1

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warm", type=int, default=20, help="articles run first, not counted")
    parser.add_argument("--category", default="bench",
                        help="the batch's category (its profile sets the article's length)")
    parser.add_argument("--hundreds", action="store_true",
                        help="also report the CPU per article of each hundred")
    args = parser.parse_args(argv)

    import app.celery_app  # noqa: F401 - binds the Celery app into app.core.queue
    from app.batches import progress
    from app.batches.generation import quality_gate, runner
    from app.batches.scheduling import launch
    from app.batches.service import create_batch
    from app.core import outbox
    from app.core.db import get_engine, session_scope
    from app.core.redis import get_redis
    from app.llm import ratelimit
    from app.llm.instrumentation import instrumented_provider

    quality_gate.warm_up()
    instrumented_provider()
    line = Timeline()
    line.wrap(runner, "run_item", "run_item")
    line.wrap(runner, "_reserve", "reserve")
    line.wrap(ratelimit, "generate", "generate")
    line.wrap(quality_gate, "judge", "judge")
    line.wrap(outbox.Publish, "deliver", "publish")
    line.wrap(progress, "_mirror", "publish")

    total = args.n + args.warm
    with session_scope() as session:
        batch = create_batch(session, [f"Breakdown title {i}" for i in range(total)],
                             args.category, language="en")
        batch_id = batch.id
        ids = [item.id for item in batch.items]
    try:
        feeder: Any = importlib.import_module("app.batches.scheduling.feeder")
    except ImportError:
        feeder = None
    if feeder is None:  # before issue 10: every item sent at once, up front
        feed_s, feed_how = dispatch_cost(batch_id)
        next_item: Callable[[int], int] = ids.__getitem__
    else:  # the metered feeder: one slot, fed after each item as the task does
        feed_how = "`feeder.feed()` after each item, one slot registered (as the task does)"
        one_slot = _register_one_slot(feeder)
        one_slot()
        launch.launch_batch(batch_id)

        def next_item(_n: int) -> int:
            item_id = _next_sent(batch_id)
            if item_id is None:
                feeder.feed()
                item_id = _next_sent(batch_id)
            if item_id is None:
                raise RuntimeError("the feeder sent nothing for a free slot")
            return item_id
    per: dict[str, list[float]] = defaultdict(list)
    per_cpu: dict[str, list[float]] = defaultdict(list)
    writes = WriteTransactions(get_engine())
    redis_client = get_redis()
    hundreds: list[float] = []
    hundred_cpu = 0.0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    calls0, own_calls = _redis_calls(redis_client), 0
    for n in range(total):
        if n == args.warm:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            line.take()
            writes.take()
            calls0, own_calls = _redis_calls(redis_client), 0
        article_cpu0 = time.process_time()
        item_id = next_item(n)
        outcome = runner.run_item(item_id, worker=f"bench/{n}")
        spans = line.take()
        fed = fed_cpu = 0.0
        if feeder is not None:
            before = _redis_calls(redis_client)
            one_slot()  # the registry heartbeat a worker sends every few seconds, not per item
            own_calls += _redis_calls(redis_client) - before
            t0, c0 = time.perf_counter(), time.thread_time()
            feeder.feed()
            fed, fed_cpu = time.perf_counter() - t0, time.thread_time() - c0
        hundred_cpu += time.process_time() - article_cpu0
        if (n + 1) % 100 == 0:
            hundreds.append(hundred_cpu / 100 * 1000)
            hundred_cpu = 0.0
        if n < args.warm:
            continue
        if outcome.status != "completed":
            raise RuntimeError(f"item {item_id} ended {outcome.status}")
        for key, value in phases(spans).items():
            per[key].append(value)
        for key, value in phases(spans, cpu=True).items():
            per_cpu[key].append(value)
        per["feed"].append(fed)
        per_cpu["feed"].append(fed_cpu)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    calls = _redis_calls(redis_client) - calls0 - own_calls
    ms = {k: statistics.mean(v) * 1000 for k, v in per.items()}
    ms_median = {k: statistics.median(v) * 1000 for k, v in per.items()}
    cpu_ms = {k: statistics.mean(v) * 1000 for k, v in per_cpu.items()}
    if feeder is None:
        ms["feed"] = ms_median["feed"] = feed_s / total * 1000
    print(json.dumps({"n": args.n, "category": args.category, "mean_ms": ms,
                      "median_ms": ms_median, "cpu_phase_ms": cpu_ms,
                      "wall_ms": wall / args.n * 1000, "cpu_ms": cpu / args.n * 1000,
                      "write_transactions": writes.take() / args.n,
                      "redis_commands": calls / args.n,
                      "words": _mean_words(batch_id),
                      "hundreds_cpu_ms": hundreds if args.hundreds else None,
                      "feed_how": feed_how}))


def _redis_calls(client: Any) -> int:
    """Redis commands the server ran so far, without INFO itself."""
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def _mean_words(batch_id: str) -> float:
    from sqlalchemy import select

    from app.articles.models import Article
    from app.core.db import session_scope

    with session_scope(read_only=True) as session:
        texts = session.scalars(select(Article.content).where(Article.task_id == batch_id)
                                .limit(50)).all()
    return statistics.mean(len(t.split()) for t in texts) if texts else 0.0


def _register_one_slot(feeder: Any) -> Callable[[], None]:
    """A worker registry entry of one slot (this process), refreshed by calling the result."""
    from app.core import workers
    from app.core.redis import get_redis

    info = workers.started_now("bench-breakdown@bench", 1, "threads", os.getpid())
    feeder.forget_capacity()
    return lambda: workers.beat(get_redis(), info)


def _next_sent(batch_id: str) -> int | None:
    """The batch's first item that was sent and has not run."""
    from sqlalchemy import select

    from app.batches.models import GenerationItem
    from app.core.db import session_scope

    with session_scope() as session:
        return session.scalar(select(GenerationItem.id).where(
            GenerationItem.task_id == batch_id, GenerationItem.enqueued_at.is_not(None),
            GenerationItem.status == "pending").order_by(GenerationItem.index).limit(1))


def dispatch_cost(batch_id: str) -> tuple[float, str]:
    """Seconds to hand the whole batch to the queue, and how it was done."""
    from app.batches.scheduling import launch  # after the bench set the environment

    t0 = time.perf_counter()
    launch.launch_batch(batch_id)
    return time.perf_counter() - t0, "launch.launch_batch (every item at once) / N"


if __name__ == "__main__":
    main()
