"""Dispatch cost with a deep backlog: 10,000 waiting items across 50 batches in a real database.

    python -m bench.dispatch_cost     (settings from the environment; prints one JSON line)

With the metered feeder (`app.batches.scheduling.feeder.feed`): a worker registry entry of K slots
is
written (as a live worker's heartbeat would), then
- full refill: nothing in flight, one feed() fills K + margin slots: ms per item sent;
- single slot: every slot in flight, one item ends, one feed() sends one item: ms per call, and
  of it the Celery message's send (`send_ms`, after the commit: no turn is held meanwhile);
- idle: every slot in flight, nothing ends: ms for a feed() that sends nothing (the timer's);
- backlog_query_ms: the feeder's read (`backlog.unfinished_batches`: one row of counts per
  unfinished batch, kept by triggers; migration 0006), alone.
Without it (the code before issue 10): `dispatch.dispatch_batch` of one 200-item batch (every
item at once), per item; and `fairness.pick` alone on the 50 batches.

The batches: 10 owners, priorities high/normal/normal/low in turn. Items that were "sent" are
ended directly in the database between calls (no worker runs); messages go to the broker in
CELERY_BROKER_URL, which the parent empties afterwards.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from typing import Any

BATCHES, ITEMS = 50, 10_000
PRIORITIES = ("high", "normal", "normal", "low")


def make_backlog(batches: int, items: int) -> list[str]:
    from sqlalchemy import update

    from app.batches.models import AIGenerationTask
    from app.batches.service import create_batch
    from app.core.db import session_scope

    per = items // batches
    ids = []
    for b in range(batches):
        with session_scope() as session:
            batch = create_batch(session, [f"Backlog {b} title {i}" for i in range(per)],
                                 "bench-backlog", language="en")
            ids.append(batch.id)
            session.execute(update(AIGenerationTask).where(AIGenerationTask.id == batch.id)
                            .values(owner=f"owner-{b % 10}", priority=PRIORITIES[b % 4],
                                    status="processing"))
    return ids


def end_sent(limit: int | None = None) -> int:
    """End items that were sent (as if workers had written them): all, or `limit` of them."""
    from sqlalchemy import select, update

    from app.batches.models import GenerationItem
    from app.core.db import session_scope
    from app.core.models import utcnow

    with session_scope() as session:
        query = (select(GenerationItem.id)
                 .where(GenerationItem.enqueued_at.is_not(None),
                        GenerationItem.status == "pending")
                 .order_by(GenerationItem.id))
        ids = list(session.scalars(query.limit(limit) if limit else query))
        if ids:
            session.execute(update(GenerationItem).where(GenerationItem.id.in_(ids))
                            .values(status="completed", finished_at=utcnow())
                            .execution_options(synchronize_session=False))
    return len(ids)


def with_feeder(feeder: Any, slots: tuple[int, ...], rounds: int) -> dict[str, Any]:
    from app.core import workers
    from app.core.redis import get_redis

    client = get_redis()
    out: dict[str, Any] = {"refill": {}, "api": sorted(vars(feeder.FeedReport()))}
    for k in slots:
        workers.beat(client, workers.started_now(f"bench-fake-{k}@bench", k, "threads", 0))
        feeder.forget_capacity()
        per_item, sent = [], []
        for _ in range(rounds):
            end_sent()
            report = feeder.feed()
            if report.sent:
                per_item.append(report.seconds / report.sent * 1000)
                sent.append(report.sent)
        out["refill"][k] = {"ms_per_item": statistics.median(per_item) if per_item else None,
                            "sent": statistics.median(sent) if sent else 0,
                            "ms_per_call": (statistics.median(per_item) * statistics.median(sent)
                                            if per_item else None)}
        workers.forget(client, f"bench-fake-{k}@bench")
    k = slots[0]
    workers.beat(client, workers.started_now(f"bench-fake-{k}@bench", k, "threads", 0))
    feeder.forget_capacity()
    end_sent()
    feeder.feed()  # every slot (and the margin) in flight now
    single, idle, sent_single, cpu_single, cpu_idle, send = [], [], [], [], [], []
    sending = _SendTimer()
    for _ in range(rounds * 6):
        workers.beat(client, workers.started_now(f"bench-fake-{k}@bench", k, "threads", 0))
        c0 = time.process_time()
        report = feeder.feed()  # nothing ended: nothing to send
        cpu_idle.append((time.process_time() - c0) * 1000)
        idle.append(report.seconds * 1000)
        end_sent(1)
        c0 = time.process_time()
        with sending:
            report = feeder.feed()
        cpu_single.append((time.process_time() - c0) * 1000)
        send.append(sending.ms)
        single.append(report.seconds * 1000)
        sent_single.append(report.sent)
    out["single"] = {"slots": k, "ms": statistics.median(single), "max_ms": max(single),
                     "sent": statistics.median(sent_single),
                     "cpu_ms": statistics.median(cpu_single),
                     "send_ms": statistics.median(send)}
    out["idle"] = {"ms": statistics.median(idle), "cpu_ms": statistics.median(cpu_idle)}
    out["backlog_query_ms"] = backlog_query_ms(rounds * 4)
    workers.forget(client, f"bench-fake-{k}@bench")
    return out


class _SendTimer:
    """Milliseconds spent sending Celery messages (app.core.queue.send) inside the block."""

    def __enter__(self) -> _SendTimer:
        from app.core import queue

        self.ms, self._send = 0.0, queue.send

        def timed(*args: Any, **kwargs: Any) -> None:
            t0 = time.perf_counter()
            self._send(*args, **kwargs)
            self.ms += (time.perf_counter() - t0) * 1000

        queue.send = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        from app.core import queue

        queue.send = self._send  # type: ignore[assignment]


def backlog_query_ms(times: int) -> float:
    """`backlog.unfinished_batches` alone (the feeder's read of the unfinished batches), median."""
    from app.batches.scheduling import backlog
    from app.core.db import session_scope
    from app.core.models import utcnow

    runs = []
    for _ in range(times):
        with session_scope() as session:
            t0 = time.perf_counter()
            backlog.unfinished_batches(session, utcnow())
            runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def without_feeder(batch_ids: list[str]) -> dict[str, Any]:
    from app.batches.scheduling import launch
    from bench.fairness_sim import cost_per_pick

    t0 = time.perf_counter()
    launch.launch_batch(batch_ids[0])
    seconds = time.perf_counter() - t0
    return {"dispatch_batch_ms_per_item": seconds / (ITEMS // BATCHES) * 1000,
            "pick_us": {s: cost_per_pick(slots=s) for s in (1, 20)}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import app.celery_app  # noqa: F401 - binds the Celery app into app.core.queue

    t0 = time.perf_counter()
    batch_ids = make_backlog(BATCHES, args.items)
    out: dict[str, Any] = {"batches": BATCHES, "items": args.items,
                           "setup_s": time.perf_counter() - t0}
    try:
        feeder = importlib.import_module("app.batches.scheduling.feeder")
    except ImportError:
        feeder = None
    out["feeder"] = feeder is not None
    if feeder is not None:
        out.update(with_feeder(feeder, (20, 200), args.rounds))
    else:
        out.update(without_feeder(batch_ids))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
