"""Where an article's time goes at L=0: the worker's building blocks called in this process.

    python -m bench.breakdown --n 300     (settings from the environment; prints one JSON line)

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


class Timeline:
    """(label, start, end) of the wrapped calls, per article."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float]] = []

    def wrap(self, owner: Any, attr: str, label: str) -> None:
        fn: Callable[..., Any] = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spans.append((label, t0, time.perf_counter()))

        setattr(owner, attr, timed)

    def take(self) -> list[tuple[str, float, float]]:
        spans, self.spans = self.spans, []
        return spans


def phases(spans: list[tuple[str, float, float]]) -> dict[str, float]:
    """Seconds per phase of one run_item call, from its spans."""
    first = {label: (s, e) for label, s, e in reversed(spans)}  # the first span of each label
    t0, t_end = first["run_item"]
    r0, r1 = first.get("reserve", (t0, t0))
    g0, g1 = first["generate"]
    q = sum(e - s for label, s, e in spans if label == "judge")
    pub_claim = sum(e - s for label, s, e in spans if label == "publish" and s < r0)
    pub_done = sum(e - s for label, s, e in spans if label == "publish" and s >= g1)
    return {"claim": r0 - t0 - pub_claim, "budget": g0 - r0, "stream": g1 - g0, "quality": q,
            "complete": t_end - g1 - q - pub_done, "publish": pub_claim + pub_done,
            "reserve_only": r1 - r0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warm", type=int, default=20, help="articles run first, not counted")
    args = parser.parse_args(argv)

    import app.celery_app  # noqa: F401 - binds the Celery app into app.core.queue
    from app.batches import progress
    from app.batches.generation import quality_gate, runner
    from app.batches.scheduling import launch
    from app.batches.service import create_batch
    from app.core import outbox
    from app.core.db import session_scope
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
        batch = create_batch(session, [f"Breakdown title {i}" for i in range(total)], "bench")
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
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    for n in range(total):
        if n == args.warm:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            line.take()
        item_id = next_item(n)
        outcome = runner.run_item(item_id, worker=f"bench/{n}")
        spans = line.take()
        fed = 0.0
        if feeder is not None:
            one_slot()
            t0 = time.perf_counter()
            feeder.feed()
            fed = time.perf_counter() - t0
        if n < args.warm:
            continue
        if outcome.status != "completed":
            raise RuntimeError(f"item {item_id} ended {outcome.status}")
        for key, value in phases(spans).items():
            per[key].append(value)
        per["feed"].append(fed)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    ms = {k: statistics.mean(v) * 1000 for k, v in per.items()}
    ms_median = {k: statistics.median(v) * 1000 for k, v in per.items()}
    if feeder is None:
        ms["feed"] = ms_median["feed"] = feed_s / total * 1000
    print(json.dumps({"n": args.n, "mean_ms": ms, "median_ms": ms_median,
                      "wall_ms": wall / args.n * 1000, "cpu_ms": cpu / args.n * 1000,
                      "feed_how": feed_how}))


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
