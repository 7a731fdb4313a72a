"""The fair picker alone: its cost per pick, and the issue's two fairness scenarios simulated.

    .venv/bin/python -m bench.fairness_sim

No Redis, no workers: a discrete-event model of C worker slots, a FIFO broker and a feeder that
keeps ``C + margin`` items in flight (on the broker or executing), calling
:func:`app.batches.scheduling.fairness.pick` whenever an item ends or a batch arrives. It shows
what the
scheduling rule itself achieves; the real end-to-end figures come from ``make bench``.
"""

from __future__ import annotations

import heapq
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass

from app.batches.scheduling.fairness import Candidate, FairState, Priority, pick


@dataclass
class _Batch:
    id: str
    owner: str | None
    size: int
    at: float
    priority: Priority = Priority.NORMAL
    waiting: int = 0
    running: int = 0  # on the broker or executing
    done: int = 0
    finished_at: float | None = None
    executing: int = 0


def simulate(
    batches: list[_Batch], slots: int, latency: float, *, margin: int = 0, jitter: float = 0.0,
    seed: int = 0, coalesce: bool = True,
) -> tuple[dict[str, _Batch], dict[str, float], float]:
    """Run to the end. Returns the batches by id, each owner's slot-seconds while every owner
    had work (waiting or in flight), and the length of that window."""
    rng = random.Random(seed)
    by_id = {b.id: b for b in batches}
    state = FairState()
    broker: deque[str] = deque()
    events: list[tuple[float, int, str, str]] = []
    seq = 0
    for b in batches:
        heapq.heappush(events, (b.at, seq, "arrive", b.id))
        seq += 1
    executing = 0
    owners = sorted({b.owner or b.id for b in batches})
    busy = dict.fromkeys(owners, 0.0)
    window = 0.0
    t_prev = 0.0

    def all_have_work(t: float) -> bool:
        work = dict.fromkeys(owners, False)
        for b in batches:
            if b.at <= t and (b.waiting or b.running or b.done < b.size):
                work[b.owner or b.id] = True
        return all(work.values())

    while events:
        t, _, kind, bid = heapq.heappop(events)
        if t > t_prev and all_have_work(t_prev):
            for b in batches:
                busy[b.owner or b.id] += b.executing * (t - t_prev)
            window += t - t_prev
        t_prev = t
        b = by_id[bid]
        if kind == "arrive":
            b.waiting = b.size
        else:  # an item of b ended
            executing -= 1
            b.executing -= 1
            b.running -= 1
            b.done += 1
            if b.done == b.size:
                b.finished_at = t
        if coalesce and events and events[0][0] == t:
            continue  # the feeder runs once for what happened at the same instant
        # The feeder: keep slots + margin items in flight.
        in_flight = sum(x.running for x in batches)
        # It also runs when no slot is free (a batch arrived), so the deficits see the arrival.
        want = max(0, slots + margin - in_flight)
        cands = [Candidate(x.id, x.owner, x.priority, x.waiting, x.running, x.at)
                 for x in batches if x.at <= t and (x.waiting or x.running)]
        for pid in pick(cands, want, state, now=t):
            x = by_id[pid]
            x.waiting -= 1
            x.running += 1
            broker.append(pid)
        # Idle workers take from the broker.
        while executing < slots and broker:
            pid = broker.popleft()
            x = by_id[pid]
            executing += 1
            x.executing += 1
            d = latency * (1 + rng.uniform(-jitter, jitter))
            heapq.heappush(events, (t + d, seq, "end", pid))
            seq += 1
    return by_id, busy, window


def small_after_big(margin: int, jitter: float = 0.0,
                    priority: Priority = Priority.NORMAL) -> float:
    """100 titles, then 2.5 s later 3; C=4, L=1 s. Seconds from the 3's submit to their end."""
    out, _, _ = simulate(
        [_Batch("big", None, 100, 0.0), _Batch("small", None, 3, 2.5, priority)], 4, 1.0,
        margin=margin, jitter=jitter)
    end = out["small"].finished_at
    assert end is not None
    return end - 2.5


def three_owners(jitter: float = 0.0, seed: int = 0, *, coalesce: bool = True) -> dict[str, float]:
    """Owners submitting 50, 20 and 5 titles at once; C=4, L=1 s. Each owner's share of busy
    slots while all three have work. ``coalesce=False``: the feeder runs after each submission,
    so the first owner takes all four slots before the others are seen."""
    _, busy, _ = simulate(
        [_Batch("b1", "ann", 50, 0.0), _Batch("b2", "bob", 20, 0.0), _Batch("b3", "cy", 5, 0.0)],
        4, 1.0, jitter=jitter, seed=seed, coalesce=coalesce)
    total = sum(busy.values())
    return {k: v / total for k, v in busy.items()}


def cost_per_pick(n_batches: int = 50, n_items: int = 10_000, slots: int = 1, *,
                  build: bool = True) -> float:
    """Microseconds of CPU per item picked over ``n_batches`` batches (10 owners, mixed
    priorities) with ``n_items`` waiting, the median of 5 runs; ``build``: counting the making of
    the candidates (the feeder makes them from its query's rows at every call)."""
    prios = [Priority.HIGH, Priority.NORMAL, Priority.NORMAL, Priority.LOW]
    per = n_items // n_batches

    def candidates() -> list[Candidate]:
        return [Candidate(f"batch-{i:03d}", f"owner-{i % 10}", prios[i % 4], per, i % 5,
                          1000.0 + i, 1000.0 + i) for i in range(n_batches)]

    rounds = max(1, 1000 // slots)
    made = candidates()
    runs = []
    for _ in range(5):
        state = FairState()
        t0 = time.process_time()  # CPU time: other load on the machine does not count
        for r in range(rounds):
            pick(candidates() if build else made, slots, state, now=2000.0 + r)
        runs.append((time.process_time() - t0) / (rounds * slots) * 1e6)
    return statistics.median(runs)


def main() -> None:
    print("fair picker, 50 batches / 10,000 waiting items (target: well under 2,000 µs per pick)")
    for slots in (1, 20):
        alone, built = cost_per_pick(slots=slots, build=False), cost_per_pick(slots=slots)
        print(f"  pick(slots={slots:>2}): {alone:6.1f} µs per item picked "
              f"({built:6.1f} µs counting the making of the 50 candidates)")
    print("100 titles, then 3 titles 2.5 s later; C=4, L=1 s (target: the 3 done ≤ 4 s after)")
    for margin in (0, 1, 4):
        cells = [f"{small_after_big(margin, jitter, prio):.2f} s"
                 for prio in (Priority.NORMAL, Priority.HIGH) for jitter in (0.0, 0.3)]
        print(f"  broker margin {margin}: {cells[0]} (constant L), {cells[1]} (L ±30 %); "
              f"the 3 as high: {cells[2]}, {cells[3]}")
    print("owners submitting 50 / 20 / 5 titles at once; C=4, L=1 s "
          "(target: each share of busy slots 26.7–40 % while all three have work)")
    for coalesce in (True, False):
        print("  one feeder run for the three submissions" if coalesce else
              "  a feeder run after each submission (the first owner takes all 4 slots for 1 L)")
        for jitter, seed in ((0.0, 0), (0.3, 1), (0.3, 2)):
            shares = three_owners(jitter, seed, coalesce=coalesce)
            print(f"    L ±{jitter:.0%} (seed {seed}): "
                  + ", ".join(f"{k} {v:.1%}" for k, v in shares.items()))


if __name__ == "__main__":
    main()
