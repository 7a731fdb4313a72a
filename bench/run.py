"""`make bench`: every benchmark in one run, on a private redis-server, real workers and the fake
LLM, written side by side to bench/RESULTS.md (each figure with its target and PASS/MISS).

    .venv/bin/python -m bench.run [--only NAME[,NAME...]] [--postgres auto|none|URL]
                                  [--checks bench|all] [--out PATH] [--quick] [--list]

Scenarios (``--only`` takes these names, or a prefix such as ``fairness`` or ``makespan``):

    fairness-a  fairness-b  priority              C=4, L=1 s (bench/sched.py)
    makespan-prefork  makespan-threads  makespan-c200   (bench/makespan.py)
    throughput  L=0 against bare Celery (bench/throughput.py)
    article-cost  library-growth     a worker's CPU per article, by phase (bench/cost.py)
    duplicates  stream  checks       its parts: the duplicate check against 10,000 articles,
                                     reading a 1,300-chunk stream, the other checks
    dispatch    the feeder's cost with a 10,000-item backlog (bench/dispatch_cost.py)
    fleet       10 hosts x 200 slots at L = 10 s on PostgreSQL, simulated (bench/fleet_sim.py)
    bulk  ratelimit                               earlier issues' figures (bench/extras.py)

A full run takes about eight minutes and writes bench/RESULTS.md; with ``--only`` the report of
what ran is printed (and written only to an explicit ``--out``). Every scenario group gets a
fresh SQLite database and an emptied Redis; every process it starts is stopped when it ends,
fails or is interrupted (SIGINT/SIGTERM). Everything listens on loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

from app.cli.embedded_redis import RedisServer
from bench import cost, extras, makespan, procs, sched, throughput
from bench.common import Context

# The services run every default check (issue 20: the duplicate check no longer grows with the
# library); `--checks bench` leaves the duplicate check out, as runs before issue 20 did.
BENCH_CHECKS = "length,structure,language,refusal,truncated"
BASELINE = procs.ROOT / "bench" / "baseline.json"


def dispatch(ctx: Context, which: list[str]) -> dict[str, Any]:
    """The feeder's cost in a child process per database (SQLite; PostgreSQL when found)."""
    from tests.support.stack import postgres_database

    out: dict[str, Any] = {}
    items = "2000" if ctx.quick else "10000"
    with ExitStack() as stack:
        dbs = [("SQLite", ctx.sqlite_url)]
        if ctx.postgres_url:
            dbs.append(("PostgreSQL", stack.enter_context(postgres_database(ctx.postgres_url))))
        for label, url in dbs:
            env = ctx.env(ctx.fake_llm(0.0), url, CELERY_BROKER_URL=f"{ctx.redis_url}/3",
                          CELERY_RESULT_BACKEND=f"{ctx.redis_url}/4", LOG_LEVEL="WARNING")
            try:
                out[label] = ctx.child("bench.dispatch_cost", env, "--items", items)
            finally:
                import redis

                redis.Redis.from_url(f"{ctx.redis_url}/3").flushdb()
    return {"dispatch": out}


def fleet(ctx: Context, which: list[str]) -> dict[str, Any]:
    """10 hosts x 200 slots at L = 10 s (200 picks/s) against PostgreSQL, simulated in child
    processes (bench/fleet_sim.py); needs PostgreSQL."""
    if not ctx.postgres_url:
        return {"fleet": {"error": "needs PostgreSQL (TEST_POSTGRES_URL or --postgres URL)"}}
    env = {**os.environ, "PYTHONPATH": str(procs.ROOT), "LOG_LEVEL": "WARNING"}
    seconds = "20" if ctx.quick else "60"
    # Its own private redis-server: the hosts use several of its databases.
    return {"fleet": ctx.child("bench.fleet_sim", env, "--postgres", ctx.postgres_url,
                               "--seconds", seconds, timeout=900)}


Group = tuple[str, Callable[[Context, list[str]], dict[str, Any]], list[str]]
GROUPS: list[Group] = [
    ("scheduling, C=4, L=1 s", sched.run, ["fairness-a", "fairness-b", "priority"]),
    ("makespan", makespan.run, list(makespan.RUNS)),
    ("throughput at L=0", throughput.run, ["throughput"]),
    ("cost per article", cost.run,
     ["article-cost", "library-growth", "duplicates", "stream", "checks"]),
    ("dispatch cost", dispatch, ["dispatch"]),
    ("fleet simulation", fleet, ["fleet"]),
    ("earlier figures", extras.run, ["bulk", "ratelimit"]),
]
ALL = [name for _, _, names in GROUPS for name in names]


def select(only: str | None) -> list[str]:
    if not only:
        return ALL
    chosen = []
    for want in (w.strip() for w in only.split(",") if w.strip()):
        hits = [n for n in ALL if n == want or n.startswith(want + "-") or n.startswith(want)]
        if not hits:
            raise SystemExit(f"no scenario {want!r}; the scenarios: {', '.join(ALL)}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def postgres_url(choice: str) -> str | None:
    """TEST_POSTGRES_URL / BENCH_POSTGRES_URL (or the URL given), when it answers."""
    if choice == "none":
        return None
    candidates = [choice] if choice != "auto" else [
        os.environ.get("BENCH_POSTGRES_URL", ""), os.environ.get("TEST_POSTGRES_URL", "")]
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


def _commit() -> str:
    """The checkout's commit (and whether it has changes), to label a run."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=procs.ROOT, capture_output=True,
                              text=True, check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--", "app") else "")


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(f"bench: stopped by signal {signum}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmarks (issues 6 and 10); writes RESULTS.md")
    parser.add_argument("--only", help="comma-separated scenarios (or prefixes); see --list")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--postgres", default="auto",
                        help="auto (TEST_POSTGRES_URL or BENCH_POSTGRES_URL), none, or a URL")
    parser.add_argument("--checks", default="all", choices=("bench", "all"),
                        help=f"quality checks of the services: bench ({BENCH_CHECKS}) or all")
    parser.add_argument("--out", help="where to write the report (default: bench/RESULTS.md "
                        "for a full run; with --only, standard output only)")
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the harness")
    parser.add_argument("--baseline", default=str(BASELINE),
                        help="an earlier run's results JSON, shown as a 'before' column "
                        "(default: bench/baseline.json when it exists; 'none' for no column)")
    parser.add_argument("--save", help="also write this run's results JSON here (a baseline)")
    parser.add_argument("--render", metavar="JSON",
                        help="run nothing: write the report of a saved results JSON")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(ALL))
        return
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        report(saved, Path(args.out) if args.out else None, args.baseline)
        return
    which = select(args.only)
    out = Path(args.out) if args.out else (None if args.only else
                                            procs.ROOT / "bench" / "RESULTS.md")
    signal.signal(signal.SIGTERM, _interrupted)

    workdir = Path(tempfile.mkdtemp(prefix="ta-bench-"))
    server = RedisServer(workdir / "redis").start()
    # This process pings workers and sends bare tasks: point its settings first.
    os.environ.update({"CELERY_BROKER_URL": f"{server.url}/0",
                       "CELERY_RESULT_BACKEND": f"{server.url}/1",
                       "REDIS_URL": f"{server.url}/2", "LOG_LEVEL": "WARNING"})
    ctx = Context(workdir, server.url, postgres_url=postgres_url(args.postgres),
                  quick=args.quick, checks=None if args.checks == "all" else BENCH_CHECKS)
    results: dict[str, Any] = {"scenarios": {}, "groups": [], "which": which,
                               "label": _commit(),
                               "checks": ctx.checks, "quick": args.quick,
                               "postgres": bool(ctx.postgres_url)}
    started = time.monotonic()
    print(f"bench: redis {server.url}; logs in {workdir}", flush=True)
    try:
        for title, fn, names in GROUPS:
            chosen = [n for n in names if n in which]
            if chosen:
                results["groups"].append(run_group(ctx, title, fn, chosen, results))
        results["redis_version"] = ctx.broker.info("server")["redis_version"]
    finally:
        procs.stop_all()
        server.stop()
    results["minutes"] = (time.monotonic() - started) / 60
    results["machine"] = procs.machine()
    dump = json.dumps(results, default=str, indent=1)
    (workdir / "results.json").write_text(dump)
    if args.save:
        Path(args.save).write_text(dump + "\n")
    report(results, out, args.baseline)


def report(results: dict[str, Any], out: Path | None, baseline_path: str) -> None:
    from bench.report import render

    results.setdefault("machine", procs.machine())
    baseline = None
    if baseline_path != "none" and Path(baseline_path).exists():
        baseline = json.loads(Path(baseline_path).read_text())
    text = render(results, results["machine"], baseline)
    if out is None:
        print(text)
    else:
        out.write_text(text)
        print(f"bench: wrote {out} ({results['minutes']:.1f} min run)", flush=True)


def run_group(ctx: Context, title: str, fn: Callable[[Context, list[str]], dict[str, Any]],
              chosen: list[str], results: dict[str, Any]) -> dict[str, Any]:
    """One scenario group on a fresh database and an empty Redis; an error is recorded (with
    its processes stopped) and the run goes on."""
    from tests.support.stack import migrate

    db = ctx.workdir / f"{chosen[0]}.db"
    ctx.sqlite_url = f"sqlite:///{db}"
    migrate(ctx.sqlite_url)
    ctx.broker.flushall()
    info: dict[str, Any] = {"title": title, "scenarios": chosen, "load_before": os.getloadavg()}
    t0 = time.monotonic()
    print(f"bench: {title}: {', '.join(chosen)} ...", flush=True)
    try:
        results["scenarios"].update(fn(ctx, chosen))
    except Exception as exc:
        info["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        for name in chosen:
            results["scenarios"].setdefault(name, {"error": info["error"]})
    finally:
        procs.stop_all(keep=ctx.fake_procs())
    info["seconds"] = time.monotonic() - t0
    info["load_after"] = os.getloadavg()
    print(f"bench: {title}: {info['seconds']:.0f} s" + (f" ({info['error']})"
                                                        if "error" in info else ""), flush=True)
    return info


if __name__ == "__main__":
    main()
