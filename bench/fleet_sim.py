"""A fleet past this machine, by simulation: the dispatcher and PostgreSQL at a fleet's pick rate.

    python -m bench.fleet_sim [--hosts 10] [--slots 200] [--latency 10] [--seconds 60]
                              [--postgres URL] [--worker raw|state|complete]

Ten worker hosts of 200 slots each, an LLM latency of L = 10 s: 2,000 slots, so 200 items end
and 200 are picked every second. No LLM and no Celery worker: each host is a process that
registers itself in the worker registry (app.core.workers, as a worker's heartbeat does), takes
the item messages the real feeder sends from the broker's queue while it has a free slot, claims
each, holds it L seconds, ends it and runs `feeder.feed()`, as a worker does at every item's end
(and every second, as its maintenance loop does). This machine's two cores then carry the work of
the whole fleet's Python, so a host does no more than the database sees of a worker:
`--worker raw` (the default) sends the claim's and the ending's conditional UPDATEs, each in its
own transaction (what `state.claim_item` and `state.end_processing` send, without the ORM: the
cheapest equivalent); `--worker state` calls those two functions; `--worker complete` ends with
`state.complete_item` (an article stored, the batch recounted: a real article's full write).

The backlog: 50 batches of 10 owners (priorities high/normal/normal/low in turn), enough items
for the run, in a database of its own on the PostgreSQL server given (dropped afterwards); a
private redis-server unless a URL is given. A slot's first item runs a random part of L, so the
endings are spread as in a fleet that has been running; the first L seconds are not measured.

Reports (one JSON line; `run()` returns the same dict):
- busy: the share of the 2,000 slots holding an item, averaged over the measured seconds;
- picks_per_s: items sent per second (the target: slots / L);
- feed_ms: `feed()` wall time per call, p50/p99, all calls and those that sent something;
- db_ms_per_pick: time inside database calls (statements and commits) during feeds, per item
  sent; feed_cpu_ms_per_pick: the feeds' CPU (on the hosts) per item sent;
  pg_cpu_ms_per_item: CPU of this database's PostgreSQL backends per item ended (all its work:
  claims, endings and feeds); host_cpu_ms_per_item: a host's CPU per item (feeds included).
  Their sum times the rate is what this machine must give: past its cores, the figures show
  the machine, not the dispatcher (the load averages before and after are in the output);
- counts_exact: the triggers' counts equal a count of the items once the hosts stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOSTS, SLOTS, LATENCY, SECONDS = 10, 200, 10.0, 60.0
BATCHES, OWNERS = 50, 10
PRIORITIES = ("high", "normal", "normal", "low")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def run(postgres_admin_url: str, redis_url: str | None = None, *, hosts: int = HOSTS,
        slots: int = SLOTS, latency: float = LATENCY, seconds: float = SECONDS,
        worker: str = "raw", workdir: Path | None = None) -> dict[str, Any]:
    """The simulation on a fresh database of the PostgreSQL server at `postgres_admin_url`
    (and the Redis at `redis_url`, or a private one): the figures of the module docstring."""
    from app.cli.embedded_redis import RedisServer
    from tests.support.stack import postgres_database, use_settings

    workdir = workdir or Path(tempfile.mkdtemp(prefix="ta-fleet-"))
    with contextlib.ExitStack() as stack:
        if redis_url is None:
            server = RedisServer(workdir / "redis").start()
            stack.callback(server.stop)
            redis_url = server.url
        url = stack.enter_context(postgres_database(postgres_admin_url))
        env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": f"{redis_url}/5",
               "CELERY_RESULT_BACKEND": f"{redis_url}/6", "REDIS_URL": f"{redis_url}/7",
               "LOG_LEVEL": "WARNING", "MAX_TITLES_PER_BATCH": "100000",
               "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        # This process makes the backlog and checks the counts: the same settings, put back
        # when the run ends (bench/run.py runs other groups after it).
        mine = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL",
                "MAX_TITLES_PER_BATCH")
        stack.callback(_restore, {k: os.environ.get(k) for k in mine})
        use_settings(**{k.lower(): env[k] for k in mine})
        items = int(slots * hosts / latency * (seconds + latency) * 1.2) + hosts * slots
        t0 = time.perf_counter()
        make_backlog(items)
        setup_s = time.perf_counter() - t0
        load_before = os.getloadavg()
        start = time.time() + 3.0  # every host is up and registered by then
        args = ["--slots", str(slots), "--latency", str(latency), "--start-at", str(start),
                "--end-at", str(start + latency + seconds), "--measure-from",
                str(start + latency), "--worker", worker]
        children = [subprocess.Popen([sys.executable, "-m", "bench.fleet_sim", "--host", str(h),
                                      *args], env=env, stdout=subprocess.PIPE,
                                     stderr=open(workdir / f"host{h}.log", "w"),  # noqa: SIM115
                                     text=True, start_new_session=True)
                    for h in range(hosts)]
        reports = []
        try:
            # The hosts' backends, sampled inside the measured window (they end with the hosts).
            time.sleep(max(0.0, start + latency - time.time()))
            pg_window = [(time.time(), _backend_cpu(url))]
            time.sleep(max(0.0, start + latency + seconds - 1.0 - time.time()))
            pg_window.append((time.time(), _backend_cpu(url)))
            for child in children:
                out, _ = child.communicate(timeout=start - time.time() + latency + seconds + 120)
                if child.returncode != 0 or not out.strip():
                    raise RuntimeError(f"fleet host failed ({child.returncode}); see {workdir}")
                reports.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
        exact = _counts_exact()
    out = _summary(reports, hosts, slots, latency, seconds)
    out.update(setup_s=setup_s, items=items, worker=worker, counts_exact=exact,
               pg_cpu_ms_per_item=_pg_cpu_ms_per_item(pg_window, out["ended_per_s"]),
               load_before=load_before,
               load_after=os.getloadavg())
    return out


def _restore(saved: dict[str, str | None]) -> None:
    from tests.support.stack import use_settings

    use_settings(**{k.lower(): v for k, v in saved.items()})


def make_backlog(items: int) -> None:
    from sqlalchemy import update

    from app.batches.models import AIGenerationTask
    from app.batches.service import create_batch
    from app.core.db import session_scope

    per = -(-items // BATCHES)
    for b in range(BATCHES):
        with session_scope() as session:
            batch = create_batch(session, [f"Fleet {b} title {i}" for i in range(per)],
                                 "bench-fleet", language="en")
            session.execute(update(AIGenerationTask).where(AIGenerationTask.id == batch.id)
                            .values(owner=f"owner-{b % OWNERS}", priority=PRIORITIES[b % 4]))


def _counts_exact() -> bool | None:
    from app.batches.scheduling import backlog
    from app.core.db import session_scope

    if not hasattr(backlog, "counts"):
        return None  # a feeder from before the counts (a comparison run)
    with session_scope(read_only=True) as session:
        return bool(backlog.counts(session) == backlog.recount(session))


def _backend_cpu(url: str) -> dict[int, int]:
    """Clock ticks of CPU used so far by each PostgreSQL backend connected to this database
    (the server must run on this machine)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = "
                                        "current_database() AND pid <> pg_backend_pid()")).all()
    finally:
        engine.dispose()
    ticks = {}
    for (pid,) in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def _pg_cpu_ms_per_item(window: list[tuple[float, dict[int, int]]],
                        ended_per_s: float) -> float | None:
    """The backends' CPU between the two samples, per item ended at the run's rate."""
    (t0, before), (t1, after) = window
    if t1 <= t0 or not ended_per_s:
        return None
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())  # new backends: all theirs
    return ticks * 1000 / os.sysconf("SC_CLK_TCK") / (t1 - t0) / ended_per_s


def _summary(reports: list[dict[str, Any]], hosts: int, slots: int, latency: float,
             seconds: float) -> dict[str, Any]:
    feeds = [ms for r in reports for ms in r["feed_ms"]]
    sending = [ms for r in reports for ms in r["feed_sending_ms"]]
    sent = sum(r["sent"] for r in reports)
    ended = sum(r["ended"] for r in reports)

    def pct(values: list[float], q: float) -> float | None:
        return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else None

    return {
        "hosts": hosts, "slots": hosts * slots, "latency_s": latency, "seconds": seconds,
        "target_picks_per_s": hosts * slots / latency,
        "busy": sum(r["busy_slot_s"] for r in reports) / (hosts * slots * seconds),
        "picks_per_s": sent / seconds, "ended_per_s": ended / seconds, "ended": ended,
        "feeds": len(feeds),
        "feed_ms": {"p50": pct(feeds, 50), "p99": pct(feeds, 99)},
        "feed_sending_ms": {"p50": pct(sending, 50), "p99": pct(sending, 99)},
        "db_ms_per_pick": sum(r["feed_db_ms"] for r in reports) / sent if sent else None,
        "feed_cpu_ms_per_pick": sum(r["feed_cpu_ms"] for r in reports) / sent if sent else None,
        "host_cpu_ms_per_item": sum(r["cpu_ms"] for r in reports) / ended if ended else None,
        "claims_lost": sum(r["claims_lost"] for r in reports),
    }


# --- one host --------------------------------------------------------------------------------

class _DbClock:
    """Time spent in database calls (statements and commits) while `on` is set."""

    def __init__(self) -> None:
        self.on = False
        self.seconds = 0.0
        self._t0 = 0.0

    def install(self) -> None:
        from sqlalchemy import event

        from app.core.db import get_engine

        engine = get_engine()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        commit = engine.dialect.do_commit

        def timed_commit(dbapi_connection: Any) -> None:
            t0 = time.perf_counter()
            commit(dbapi_connection)
            if self.on:
                self.seconds += time.perf_counter() - t0

        engine.dialect.do_commit = timed_commit  # type: ignore[method-assign]

    def _before(self, *_: Any) -> None:
        self._t0 = time.perf_counter()

    def _after(self, *_: Any) -> None:
        if self.on:
            self.seconds += time.perf_counter() - self._t0


def host(number: int, slots: int, latency: float, start_at: float, end_at: float,
         measure_from: float, worker: str) -> dict[str, Any]:
    """One worker host: `slots` slots, each holding an item `latency` seconds."""
    import redis

    import app.celery_app  # noqa: F401 - binds the Celery app the feeder sends through
    from app.batches.scheduling import feeder
    from app.config import get_settings
    from app.core import names, workers
    from app.core.redis import get_redis

    rng = random.Random(number)
    transitions = _Transitions(worker, lease=int(latency * 3) + 30)
    hostname = f"fleet-{number}@sim"
    beat = workers.Heartbeat(get_redis(), workers.started_now(hostname, slots, "threads",
                                                              os.getpid())).start()
    broker = redis.Redis.from_url(get_settings().celery_broker_url)
    clock = _DbClock()
    clock.install()
    running: list[tuple[float, int, Any]] = []  # (due, item id, the claim)
    claims = 0
    stats: dict[str, Any] = {"feed_ms": [], "feed_sending_ms": [], "sent": 0, "ended": 0,
                             "busy_slot_s": 0.0, "claims_lost": 0, "feed_db_ms": 0.0,
                             "feed_cpu_ms": 0.0}
    last_change = measure_from

    def account(now: float) -> None:  # busy slot-seconds within the measured window
        nonlocal last_change
        if now > measure_from:
            stats["busy_slot_s"] += len(running) * (now - max(last_change, measure_from))
        last_change = now

    def feed(now: float) -> None:
        clock.on = now >= measure_from
        t0, c0 = time.perf_counter(), time.process_time()
        report = feeder.feed()
        ms = (time.perf_counter() - t0) * 1000
        clock.on = False
        if now >= measure_from:
            stats["feed_cpu_ms"] += (time.process_time() - c0) * 1000
            stats["feed_ms"].append(ms)
            stats["sent"] += report.sent
            if report.sent:
                stats["feed_sending_ms"].append(ms)

    while time.time() < start_at:
        time.sleep(0.01)
    cpu0 = None
    next_tick = time.time()
    while (now := time.time()) < end_at:
        if cpu0 is None and now >= measure_from:
            cpu0 = time.process_time()
        if now >= next_tick:  # the worker's maintenance loop
            feed(now)
            next_tick = now + 1.0
        while running and running[0][0] <= now:
            account(time.time())
            _, item_id, claim = heapq.heappop(running)
            transitions.end(item_id, claim)
            stats["ended"] += now >= measure_from
            feed(time.time())  # what every item's end runs
        if len(running) >= slots:
            time.sleep(max(0.0, min(running[0][0], next_tick) - time.time()))
            continue
        wait = max(0.001, min(running[0][0] if running else end_at, next_tick) - time.time())
        popped = broker.brpop([names.ITEM_QUEUE], timeout=min(wait, 0.05))
        if popped is None:
            continue
        item_id = _item_id(popped[1])
        claim = transitions.claim(item_id, f"{hostname}/{rng.random():.8f}")
        if claim is None:
            stats["claims_lost"] += 1
            continue
        account(time.time())
        claims += 1
        hold = latency * rng.random() if claims <= slots else latency  # see the docstring
        heapq.heappush(running, (time.time() + hold, item_id, claim))
    account(end_at)
    stats["cpu_ms"] = (time.process_time() - (cpu0 or time.process_time())) * 1000
    stats["feed_db_ms"] = clock.seconds * 1000
    beat.stop()
    return stats


class _Transitions:
    """A host's claims and endings: raw (the SQL alone), state or complete (module docstring)."""

    def __init__(self, kind: str, lease: int) -> None:
        from app.batches import state
        from app.core.db import get_engine, session_scope
        from app.llm.base import Generated

        self.kind, self.lease = kind, timedelta(seconds=lease)
        self.state, self.engine, self.session_scope = state, get_engine(), session_scope
        self.claim_sql, self.end_sql = _claim_sql(), _end_sql()
        self.draft = Generated(content="# Fleet\n\nBody", provider="fleet", model="m")

    def claim(self, item_id: int, worker: str) -> Any:
        """The claim (the item, or (id, worker) when raw), or None when it was not claimable."""
        if self.kind != "raw":
            with self.session_scope() as session:
                return self.state.claim_item(session, item_id, worker,
                                             int(self.lease.total_seconds()))
        now = _utcnow()
        with self.engine.begin() as conn:
            claimed = conn.execute(self.claim_sql, {"item_id": item_id, "claim": worker,
                                                    "now": now, "lease": now + self.lease})
            return (item_id, worker) if claimed.rowcount == 1 else None

    def end(self, item_id: int, claim: Any) -> None:
        if self.kind == "raw":
            with self.engine.begin() as conn:
                conn.execute(self.end_sql, {"item_id": item_id, "claim": claim[1],
                                            "now": _utcnow()})
            return
        with self.session_scope() as session:
            if self.kind == "complete":
                self.state.complete_item(session, claim, "bench-fleet", self.draft)
            else:
                self.state.end_processing(session, claim, status="completed",
                                          finished_at=_utcnow(), error=None)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _claim_sql() -> Any:
    """state.claim_item's UPDATE (a waiting item of a dispatchable batch)."""
    from sqlalchemy import bindparam, func, select, update

    from app.batches.enums import ITEM_WAITING, ItemStatus
    from app.batches.models import AIGenerationTask, GenerationItem
    from app.batches.repository import dispatchable

    item = GenerationItem
    return (update(item)
            .where(item.id == bindparam("item_id"), item.status.in_(ITEM_WAITING),
                   select(AIGenerationTask.id).where(AIGenerationTask.id == item.task_id,
                                                     dispatchable()).exists())
            .values(status=ItemStatus.PROCESSING, attempts=item.attempts + 1,
                    worker=bindparam("claim"), started_at=func.coalesce(item.started_at,
                                                                         bindparam("now")),
                    lease_expires_at=bindparam("lease"), next_attempt_at=None))


def _end_sql() -> Any:
    """state.end_processing's UPDATE, ending the item completed."""
    from sqlalchemy import bindparam, update

    from app.batches.enums import ItemStatus
    from app.batches.models import GenerationItem

    item = GenerationItem
    return (update(item)
            .where(item.id == bindparam("item_id"), item.status == ItemStatus.PROCESSING,
                   item.worker == bindparam("claim"))
            .values(status=ItemStatus.COMPLETED, lease_expires_at=None, error=None,
                    finished_at=bindparam("now")))


def _item_id(raw: bytes) -> int:
    """The item id in a Celery message as kombu puts it on a Redis list."""
    import base64

    body = json.loads(base64.b64decode(json.loads(raw)["body"]))
    return int(body[0][0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=HOSTS)
    parser.add_argument("--slots", type=int, default=SLOTS, help="per host")
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds per item")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="measured seconds")
    parser.add_argument("--worker", choices=("raw", "state", "complete"), default="raw",
                        help="how a host claims and ends items (see above)")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL")
                        or DEFAULT_POSTGRES)
    parser.add_argument("--redis", help="a Redis URL (default: a private redis-server)")
    parser.add_argument("--host", type=int, help=argparse.SUPPRESS)  # a child: one host
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--end-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--measure-from", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.host is not None:
        out = host(args.host, args.slots, args.latency, args.start_at, args.end_at,
                   args.measure_from, args.worker)
    else:
        out = run(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1),
                  args.redis, hosts=args.hosts, slots=args.slots, latency=args.latency,
                  seconds=args.seconds, worker=args.worker)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
