"""bench/RESULTS.md: the figures side by side, each against its target, PASS or MISS."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.breakdown import PHASES
from bench.common import verdict


def _per(calls: dict[str, int], n: int) -> float:
    return sum(calls.values()) / n


def _top(calls: dict[str, int], n: int) -> str:
    return ", ".join(f"{name} {count / n:.2f}" for name, count in Counter(calls).most_common()
                     if count / n >= 0.05)


def _load(values: Any) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


class Table:
    """Rows of (scenario, measure, target, result, PASS/MISS), keyed by scenario and measure
    number, so that a baseline run's figures can stand beside them."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []
        self._count: Counter[str] = Counter()

    def add(self, scenario: str, measure: str, target: str, result: str,
            met: bool | None = None, *, sid: str | None = None) -> None:
        sid = sid or scenario.split(":")[0]
        self._count[sid] += 1
        mark = "" if met is None else verdict(met)
        self.rows.append((f"{sid}#{self._count[sid]}", scenario, measure, target, result, mark))

    def error(self, scenario: str, error: str) -> None:
        self.add(scenario, "—", "—", f"did not run: {error[:300]}", None)
        key, *rest = self.rows[-1]
        self.rows[-1] = (key, *rest[:4], "**ERROR**")  # type: ignore[assignment]

    def lines(self, baseline: Table | None = None, label: str = "before") -> list[str]:
        if baseline is None:
            out = ["| scenario | measure | target | result | |", "|---|---|---|---|---|"]
            return out + [f"| {' | '.join(row[1:])} |" for row in self.rows]
        before = {row[0]: f"{row[4]} {row[5]}".strip() for row in baseline.rows}
        out = [f"| scenario | measure | target | result | | {label} |",
               "|---|---|---|---|---|---|"]
        return out + [f"| {' | '.join(row[1:])} | {before.get(row[0], '—')} |"
                      for row in self.rows]


def _sched(t: Table, s: dict[str, Any]) -> None:
    a = s.get("fairness-a")
    if a and "error" in a:
        t.error("fairness A", a["error"])
    elif a:
        L = a["L"]
        name = f"fairness A: {a['big_n']} titles, {a['delay']:g} s later {a['small_n']}"
        t.add(name, f"the {a['small_n']} done, after their submit", f"≤ 4·L = {4 * L:g} s",
              f"{a['small_done']:.2f} s (first started after {a['small_first_start']:.2f} s)",
              a["small_done"] <= 4 * L)
        t.add(name, "the big batch's makespan", f"— (ideal {a['ideal']:g} s for all "
              f"{a['big_n'] + a['small_n']})", f"{a['big_makespan']:.2f} s")
    b = s.get("fairness-b")
    if b and "error" in b:
        t.error("fairness B", b["error"])
    elif b:
        lo, hi = 1 / 3 * 0.8, 1 / 3 * 1.2
        shares = ", ".join(f"{k} ({b['sizes'][k]}) {v:.1%}" for k, v in b["shares"].items())
        shares += "; first item started after " + ", ".join(
            f"{k} {v:.1f} s" for k, v in b["first_start"].items())
        ok = all(lo <= v <= hi for v in b["shares"].values())
        t.add("fairness B: owners submit 50 / 20 / 5 at once" +
              (" (**owner not supported yet**: each batch is its own owner)" if b["note"] else ""),
              f"share of busy slots while all three have work ({b['window']:.1f} s)",
              f"each {lo:.1%}–{hi:.1%}", shares, ok)
    p = s.get("priority")
    if p and "error" in p:
        t.error("priority", p["error"])
    elif p:
        name = (f"priority: {p['normal_n']} normal, {p['delay']:g} s later {p['high_n']} high"
                + (" (**POST takes no `priority`**: set by PATCH after the 202)"
                   if p["note"] else ""))
        t.add(name, "the high items start, after their submit", f"≤ L = {p['L']:g} s",
              (f"first {p['start_min']:.2f} s, " if "start_min" in p else "")
              + f"median {p['start_median']:.2f} s, last {p['start_max']:.2f} s; all done after "
              f"{p['high_done']:.2f} s", p["start_max"] <= p["L"])


def _makespan(t: Table, s: dict[str, Any]) -> None:
    for key in ("makespan-prefork4", "makespan-prefork", "makespan-threads", "makespan-c200"):
        m = s.get(key)
        if not m:
            continue
        if "error" in m:
            t.error(key, m["error"])
            continue
        name = (f"makespan: `start_celery_worker.sh --concurrency={m['C']}`, pool {m['pool']}, "
                f"N={m['N']}, L={m['L']:g} s")
        done = m["status"] == "completed"
        result = (f"{m['seconds']:.2f} s / {m['ideal']:g} s = {m['ratio']:.3f}" if done or
                  m["status"] in ("partially_completed", "failed", "cancelled") else
                  f"> {m['ratio']:.2f} ({m['status']})")
        result = (result + ("" if done or result.startswith(">") else
                            f" (batch ended {m['status']})")
                  + (f"; {m['expired_leases']} item lease(s) expired on the live worker and "
                     "were requeued by the reaper" if m.get("expired_leases") else ""))
        t.add(name, "makespan / (N·L/C)", f"≤ {m['target']:.2f}", result,
              m["ratio"] <= m["target"] and m["status"] == "completed", sid=key)
        rss = (f"{m['rss']:.0f} MB peak, {m['rss_idle']:.0f} MB idle, {m['processes']} "
               f"process(es); worker CPU {m['cpu'] / m['N'] * 1000:.1f} ms/article, "
               f"{m['cpu'] / m['seconds']:.2f} cores busy on average")
        if m.get("rss_target"):
            t.add(name, "worker RSS (process tree, sampled max)", f"≤ {m['rss_target']:g} MB",
                  rss, m["rss"] <= m["rss_target"], sid=key)
        else:
            t.add(name, "worker RSS (process tree, sampled max)", "—", rss, sid=key)


def _throughput(t: Table, s: dict[str, Any]) -> None:
    tp = s.get("throughput")
    if not tp:
        return
    if "error" in tp:
        t.error("throughput", tp["error"])
        return
    bare, svc = tp["bare"], tp["service"]
    base = bare["noop_result"]["rate"]
    ratio = svc["rate"] / base
    t.add(f"throughput at L=0: {svc['n']} titles, {tp['C']} thread slots",
          "articles/s against bare Celery no-op tasks with results (same Redis, same run)",
          "≥ 25 %", f"{svc['rate']:.1f} /s vs {base:.0f} /s = {ratio:.1%} (no-op without result: "
          f"{bare['noop']['rate']:.0f} /s)", ratio >= 0.25 and svc["status"] == "completed")


CPU_TARGET_MS = 25.0
GROWTH_TARGET = 1.25


DUPLICATE_TARGET_MS = 5.0
CHECKS_TARGET_MS = 5.0


def _parts(t: Table, s: dict[str, Any]) -> None:
    for key in ("duplicates", "duplicates-pg"):
        d = s.get(key)
        if d and "error" in d:
            t.error(key, d["error"])
        elif d:
            name = (f"duplicate check: {d['articles']:,} stored articles, {d['database']}, "
                    "threshold 0.8")
            t.add(name, "ms per check, a new article (median; p95)",
                  f"≤ {DUPLICATE_TARGET_MS:g} ms",
                  f"{d['ms_per_check']:.2f} ms; {d['p95_ms']:.2f} ms (CPU "
                  f"{d['cpu_ms_per_check']:.2f} ms; {d['candidates']} signature(s) loaded)",
                  d["ms_per_check"] <= DUPLICATE_TARGET_MS, sid=key)
            t.add(name, "a near copy of the oldest article found", "found",
                  f"{'found' if d['found_oldest'] else 'NOT found'} (similarity "
                  f"{d['similarity']:.3f}) in {d['ms_per_copy_check']:.2f} ms",
                  bool(d["found_oldest"]), sid=key)
    st = s.get("stream")
    if st and "error" in st:
        t.error("stream", st["error"])
    elif st:
        t.add(f"stream: one answer of {st['words']} words in {st['chunks']} chunks, L=0",
              "client CPU (median): the SDK's chunk objects → app/llm/stream.py", "—",
              f"{st['sdk']['median_ms']:.1f} ms → {st['lean']['median_ms']:.1f} ms (reading "
              f"the bytes alone: {st['transport']['median_ms']:.1f} ms; one non-streamed "
              f"answer: {st['non_streamed']['median_ms']:.1f} ms)", sid="stream")
    ch = s.get("checks")
    if ch and "error" in ch:
        t.error("checks", ch["error"])
    elif ch:
        for lang in ("en", "zh"):
            if lang in ch:
                r = ch[lang]
                t.add(f"quality checks but the duplicate one: a {r['length']}-"
                      f"{'word' if lang == 'en' else 'character'} article ({lang})",
                      "CPU per article (median)", f"≤ {CHECKS_TARGET_MS:g} ms",
                      f"{r['all_ms']:.2f} ms (" + ", ".join(
                          f"{k} {v:.2f}" for k, v in r["by_check_ms"].items()) + ")",
                      r["all_ms"] <= CHECKS_TARGET_MS, sid=f"checks-{lang}")


FLEET_BUSY_TARGET = 0.95


def _fleet(t: Table, s: dict[str, Any]) -> None:
    f = s.get("fleet")
    if f and "error" in f:
        t.error("fleet", f["error"])
    elif f:
        name = (f"fleet simulation: {f['hosts']} hosts x {f['slots'] // f['hosts']} slots, "
                f"L={f['latency_s']:g} s, PostgreSQL, {f['seconds']:g} s measured")
        t.add(name, "share of slots kept busy", f"≥ {FLEET_BUSY_TARGET:.0%}",
              f"{f['busy']:.1%} ({f['picks_per_s']:.0f} picks/s of {f['target_picks_per_s']:.0f})",
              f["busy"] >= FLEET_BUSY_TARGET, sid="fleet")
        t.add(name, "pick latency: a feed that sent, p50 / p99", "—",
              f"{f['feed_sending_ms']['p50']:.1f} / {f['feed_sending_ms']['p99']:.1f} ms "
              f"(every feed: {f['feed_ms']['p50']:.1f} / {f['feed_ms']['p99']:.1f} ms)",
              sid="fleet")
        db = f.get("db_ms_per_pick")
        t.add(name, "database time per pick (in feeds)", "—",
              f"{db:.2f} ms" if db is not None else "—", sid="fleet")


def _cost(t: Table, s: dict[str, Any]) -> None:
    a = s.get("article-cost")
    if a and "error" in a:
        t.error("article cost", a["error"])
    elif a:
        name = (f"article cost: {a['n']} `{a['category']}` articles (~{a['words']:.0f} words, "
                "~1,300 chunks), L=0, every default check")
        phases = ", ".join(f"{k} {a['cpu_phase_ms'][k]:.1f}" for k in PHASES
                           if k in a["cpu_phase_ms"])
        t.add(name, "worker CPU per article (this thread; by phase, ms)",
              f"≤ {CPU_TARGET_MS:g} ms", f"{a['cpu_ms']:.1f} ms ({phases})",
              a["cpu_ms"] <= CPU_TARGET_MS, sid="article-cost")
        t.add(name, "write transactions per article (claim, complete, feed)", "≤ 2",
              f"{a['write_transactions']:.2f}", a["write_transactions"] <= 2.0,
              sid="article-cost")
        t.add(name, "Redis commands per article, the service's own (Celery's: see bare Celery)",
              "≤ 15 with Celery's", f"{a['redis_commands']:.1f}", sid="article-cost")
    g = s.get("library-growth")
    if g and "error" in g:
        t.error("library growth", g["error"])
    elif g and g.get("hundreds_cpu_ms"):
        hundreds = g["hundreds_cpu_ms"]
        ratio = hundreds[-1] / hundreds[0]
        t.add(f"library growth: {g['n']} `{g['category']}` articles (~{g['words']:.0f} words) "
              "in one category, one after another", "CPU per article, last hundred / first",
              f"≤ {GROWTH_TARGET}", " → ".join(f"{h:.1f}" for h in hundreds)
              + f" ms: {ratio:.2f}x", ratio <= GROWTH_TARGET, sid="library-growth")


def _dispatch(t: Table, s: dict[str, Any]) -> None:
    d = s.get("dispatch")
    if not d:
        return
    if "error" in d:
        t.error("dispatch cost", d["error"])
        return
    for label, r in d.items():
        name = f"dispatch cost, {r['items']:,} waiting items in {r['batches']} batches, {label}"
        if not r["feeder"]:
            sid = f"dispatch {label}"
            t.add(name, "`feed()` per pick", "≤ 2 ms", "no feeder yet",
                  sid=sid + " none")
            t.add(name, "before: `dispatch_batch` (every item of a batch at once), per item",
                  "—", f"{r['dispatch_batch_ms_per_item']:.2f} ms per item (`dispatch_batch`, "
                  "every item of a batch at once)", sid=sid + " per-item")
            t.add(name, "before: `fairness.pick` alone, 50 batches, per item picked", "—",
                  ", ".join(f"{v:.0f} µs ({k} slot(s) a call)" for k, v in r["pick_us"].items()),
                  sid=sid + " pick")
            continue
        sid = f"dispatch {label}"
        for n, (k, f) in enumerate(r["refill"].items()):
            key = sid + (" per-item" if n == 0 else f" refill{k}")
            if f["ms_per_item"] is None:
                t.add(name, f"full refill of {k} slots", "≤ 2 ms per pick", "sent nothing", False,
                      sid=key)
                continue
            t.add(name, f"full refill: {k} free slots, one `feed()`", "≤ 2 ms per pick",
                  f"{f['ms_per_item']:.3f} ms per item ({f['sent']:.0f} sent, "
                  f"{f['ms_per_call']:.1f} ms the call)", f["ms_per_item"] <= 2, sid=key)
        one = r["single"]
        t.add(name, f"single-slot pick: {one['slots']} slots busy, one ends, one `feed()`",
              "≤ 2 ms per pick", f"{one['ms']:.2f} ms median, {one['max_ms']:.2f} ms max "
              f"({one['sent']:.0f} sent; this process's CPU {one['cpu_ms']:.1f} ms)",
              one["ms"] <= 2 and one["sent"] >= 1, sid=sid + " single")
        t.add(name, "`feed()` with nothing free (the timer's call, every second)", "—",
              f"{r['idle']['ms']:.2f} ms (CPU {r['idle']['cpu_ms']:.1f} ms)", sid=sid + " idle")
        t.add(name, "of which `backlog.unfinished_batches` (the feeder's read)", "—",
              f"{r['backlog_query_ms']:.2f} ms", sid=sid + " backlog")


def _breakdown(s: dict[str, Any]) -> list[str]:
    a = s.get("article-cost")
    if not a or "error" in a:
        return []
    tp = s.get("throughput")
    lines = [
        "## Where an article's cost goes",
        "",
        "`bench/breakdown.py` (scenario article-cost): `app.batches.generation.runner.run_item` "
        f"called in one thread, item after item ({a['n']} `{a['category']}` articles of "
        f"~{a['words']:.0f} words streamed as ~1,300 chunks, after 20 not counted), on the "
        "run's SQLite database, Redis and the fake LLM at L=0, every default check, with timers "
        "around the functions it calls. Per article: this thread's CPU, and the mean (median) "
        "wall time, in ms.",
        "",
        "| phase | what | CPU | wall |",
        "|---|---|---|---|",
    ]
    what = {
        "feed": a["feed_how"],
        "claim": "claim transaction: `state.claim_item`, the item's job, commit",
        "budget": "cost reservation and checkpoint set-up",
        "stream": "`ratelimit.generate`: the provider's stream from the fake server",
        "quality": "`quality_gate.judge`: the quality checks",
        "complete": "completion transaction: `state.complete_item` (article, recount), commit",
        "publish": "progress events and the Celery progress mirror (Redis)",
    }
    for phase in PHASES:
        lines.append(f"| {phase} | {what[phase]} | {a['cpu_phase_ms'][phase]:.2f} | "
                     f"{a['mean_ms'][phase]:.2f} ({a['median_ms'][phase]:.2f}) |")
    lines += [f"| **sum** | in-process, per article | {a['cpu_ms']:.1f} | {a['wall_ms']:.1f} |",
              ""]
    if tp and "error" not in tp:
        bare, svc = tp["bare"], tp["service"]
        noop_cpu = bare["noop_result"]["cpu"] / bare["noop_result"]["n"] * 1000
        lines += [
            f"End to end ({svc['n']} titles, {tp['C']} threads, L=0): worker CPU "
            f"{svc['cpu'] / svc['n'] * 1000:.1f} ms per article (8-chunk answers), "
            f"{_per(svc['commands'], svc['n']):.1f} Redis commands per article ("
            f"{_top(svc['commands'], svc['n'])}); bare Celery's no-op with results: "
            f"{noop_cpu:.2f} ms CPU and "
            f"{_per(bare['noop_result']['commands'], bare['noop_result']['n']):.1f} commands "
            "per task (Celery's own share of each article).",
            "",
        ]
    return lines


def _kept(s: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    b = s.get("fairness-b")
    if b and "load" in b and b["load"]:
        load = b["load"]
        lines += ["## API latency under load", "",
                  f"During fairness B: open loop, {load['rate']:g} req/s alternating /progress and "
                  "/status of the 50-title batch, 32 keep-alive connections; latency from when "
                  "each request was due.", ""]
        for path, values in load["latencies"].items():
            ordered = sorted(values)
            if ordered:
                p50 = ordered[len(ordered) // 2]
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                lines.append(f"- GET {path.rsplit('/', 1)[-1]}: p50 {p50:.1f} ms, p99 "
                             f"{p99:.1f} ms (target p99 ≤ 50 ms: {verdict(p99 <= 50)}; "
                             f"{len(ordered)} requests)")
        lines += [f"- errors: {load['errors']}", ""]
    cmds = []
    for key in ("makespan-threads", "makespan-prefork", "makespan-c200"):
        m = s.get(key)
        if m and "commands" in m:
            per = _per(m["commands"], m["N"])
            cmds.append(f"- {key} (L={m['L']:g} s): {per:.1f} per article (issue 6 target ≤ 15: "
                        f"{verdict(per <= 15)}): {_top(m['commands'], m['N'])}")
    tp = s.get("throughput")
    if tp and "service" in tp:
        svc, bare = tp["service"], tp["bare"]
        cmds.append(f"- throughput (L=0): {_per(svc['commands'], svc['n']):.1f} per article: "
                    f"{_top(svc['commands'], svc['n'])}")
        for name in ("noop_result", "noop"):
            r = bare[name]
            cmds.append(f"- bare {name}: {_per(r['commands'], r['n']):.1f} per task: "
                        f"{_top(r['commands'], r['n'])}")
    if cmds:
        lines += ["## Redis commands per article (INFO commandstats)", "", *cmds, ""]
    rl = s.get("ratelimit")
    if rl and "busiest" in rl:
        allowed, need = rl["limit"] * rl["span"] / 60, 0.9 * rl["limit"] * rl["span"] / 60
        lines += [
            "## Shared rate limit", "",
            f"Two worker processes (threads, 4 slots each), `LLM_RPM={rl['limit']}`, fake LLM "
            f"at 50 ms, {rl['span']:g} s counted on the fake provider's own request "
            f"timestamps: busiest {rl['span']:g} s window {rl['busiest']} requests (limit "
            f"{allowed:g}: {verdict(rl['busiest'] <= allowed)}); {rl['reached']} requests in the "
            f"first {rl['span']:g} s ({rl['reached'] / allowed:.0%} of the limit; ≥ 90 %: "
            f"{verdict(rl['reached'] >= need)}).", ""]
    bulk = s.get("bulk")
    if bulk and "single_ms" in bulk:
        lines += [
            "## Bulk submit", "",
            f"- one POST of 100 titles, time to 202: {bulk['single_ms']:.0f} ms median of 5 "
            f"({bulk['single_max_ms']:.0f} ms max)",
            f"- 10 such POSTs at once: {bulk['parallel_wall_ms']:.0f} ms to the last 202 "
            f"({bulk['parallel_median_ms']:.0f} ms median)", ""]
    return lines


def _notes(s: dict[str, Any]) -> list[str]:
    """What the figures say, computed from them (only for the scenarios that ran)."""
    notes = []
    busy = [(k, m) for k, m in s.items() if k.startswith("makespan-") and "cpu" in m]
    if busy:
        notes.append("- CPU: the makespan workers kept "
                     + ", ".join(f"{m['cpu'] / m['seconds']:.2f} cores ({k})" for k, m in busy)
                     + " busy on average (worker process tree, user + system). A run whose "
                     "worker is far from its cores and still misses its ratio was held back "
                     "by the rest of the machine (see the load averages) or by waiting "
                     "(database locks, Redis), not by its own CPU.")
    a = s.get("article-cost")
    if a and "error" not in a:
        top = sorted(((v, k) for k, v in a["cpu_phase_ms"].items() if k in PHASES),
                     reverse=True)
        notes.append(f"- Per article at L=0 (in process, one thread, every default check): "
                     f"{a['wall_ms']:.0f} ms wall, {a['cpu_ms']:.1f} ms CPU, which caps one "
                     f"worker process at about {1000 / max(a['cpu_ms'], 0.1):.0f} articles per "
                     "CPU-second whatever the scheduling; the largest phases: "
                     + ", ".join(f"{k} {v:.1f} ms" for v, k in top[:3]) + ".")
    for label, r in (s.get("dispatch") or {}).items():
        if isinstance(r, dict) and r.get("feeder") and "backlog_query_ms" in r:
            notes.append(f"- Dispatch ({label}): with {r['items']:,} items waiting, one feed "
                         f"that sends nothing takes {r['idle']['ms']:.0f} ms, of which the "
                         f"backlog query {r['backlog_query_ms']:.0f} ms; the fair pick itself is "
                         "microseconds (bench/fairness_sim.py). A feed runs after every item and "
                         "every second in each worker, so its cost is paid per article.")
    return notes


def table_of(s: dict[str, Any]) -> Table:
    table = Table()
    _sched(table, s)
    _makespan(table, s)
    _throughput(table, s)
    _cost(table, s)
    _parts(table, s)
    _dispatch(table, s)
    _fleet(table, s)
    return table


def render(results: dict[str, Any], machine: dict[str, str],
           baseline: dict[str, Any] | None = None) -> str:
    """The report; with `baseline` (an earlier run's results.json, e.g. before a change), its
    figures in a last column, measure by measure."""
    s = results["scenarios"]
    table = table_of(s)
    before = table_of(baseline["scenarios"]) if baseline else None
    label = f"before ({baseline.get('label', 'baseline')})" if baseline else "before"
    groups = [f"- {g['title']} ({', '.join(g['scenarios'])}): {g['seconds']:.0f} s, load "
              f"{_load(g['load_before'])} before, {_load(g['load_after'])} after"
              + (f"; **error**: {g['error']}" if "error" in g else "")
              for g in results["groups"]]
    checks = results["checks"] or "all (the default)"
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`.venv/bin/python -m bench.run`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {results['minutes']:.1f} min"
        + (" (`--quick`: small sizes, not the issue's)" if results["quick"] else "")
        + ". Do not edit by hand: rerun it.",
        *(["", f"Code: `{results['label']}` (this branch's commit; its `app/` is what ran)."]
          if results.get("label") else []),
        *(["", f"Note: {results['note']}"] if results.get("note") else []),
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in machine.items()],
        f"- Redis: redis-server {results.get('redis_version', '?')} (private, loopback, no "
        "persistence); databases: a fresh SQLite per scenario group"
        + (", PostgreSQL for the dispatch cost" if results["postgres"] else
           " (no TEST_POSTGRES_URL: no PostgreSQL)"),
        "- Everything shares the machine's cores: workers, API, Redis, the database, the fake "
        "LLM, the load generator and whatever else runs (load averages per group below); wall "
        "times move with that, CPU times much less.",
        "",
        "## Set-up",
        "",
        "- Workers: the plan's `start_celery_worker.sh --concurrency=C -n NAME --without-gossip "
        "--without-mingle` (queues `celery,maintenance`), pool from `CELERY_POOL` (prefork when "
        "unset); acks late, prefetch 1, task events off.",
        "- LLM: `python -m tests.support.fake_openai --latency L --chunks 8` (OpenAI-compatible, "
        "streamed through the openai SDK like production).",
        "- API: one `uvicorn app.main:app` process, `--no-access-log`; times of items are their "
        "`started_at` / `finished_at` from `GET /api/tasks/{id}/status`.",
        f"- Quality checks in the end-to-end runs: `QUALITY_CHECKS={checks}`.",
        "- Bare Celery: tasks in `bench/tasks.py` on the same app, settings, Redis, worker script "
        "and flags (`-I bench.tasks`); each ends with one INCR so the bench sees it finish.",
        "- Single scenarios: `python -m bench.run --only NAME` (`--list` names them).",
        "",
        "Scenario groups:",
        "",
        *groups,
        "",
        "## Results",
        "",
        *table.lines(before, label),
        "",
        *(["## Reading the figures", "", *notes, ""] if (notes := _notes(s)) else []),
        *_breakdown(s),
        *_kept(s),
    ]
    return "\n".join(lines)
