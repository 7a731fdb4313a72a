"""app.batches.scheduling.fairness: the pure picker, and a small slot simulation of the issue's
cases.

No Redis, no database, no clock: every test is deterministic and takes milliseconds.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app.batches.scheduling.fairness import (
    LOW_AGING_DOUBLING_S,
    WEIGHTS,
    Candidate,
    FairState,
    Priority,
    pick,
    seconds,
)

T0 = 1_700_000_000.0


def cand(bid: str, waiting: int, running: int = 0, *, owner: str | None = None,
         priority: str = "normal", created: float = 0.0,
         oldest: float | None = None) -> Candidate:
    return Candidate(bid, owner, Priority(priority), waiting, running, T0 + created,
                     None if oldest is None else T0 + oldest)


# --- a tiny model of C worker slots fed by the picker ----------------------------------------

@dataclass
class Sub:
    """A batch submitted to the model."""

    id: str
    size: int
    at: float = 0.0
    owner: str | None = None
    priority: str = "normal"


@dataclass
class Run:
    finished: dict[str, float]  # batch id -> when its last item ended
    busy: dict[str, float]  # owner group -> slot-seconds while every group had work


def simulate(subs: list[Sub], slots: int, latency: float = 1.0, *, jitter: float = 0.0,
             seed: int = 0) -> Run:
    """Slots take items as the picker gives them; it runs once per instant something happened
    (arrivals, ends), with as many slots as are free."""
    rng = random.Random(seed)
    waiting = {s.id: 0 for s in subs}
    running = {s.id: 0 for s in subs}
    done = {s.id: 0 for s in subs}
    group = {s.id: s.owner or s.id for s in subs}
    finished: dict[str, float] = {}
    busy = dict.fromkeys(sorted(set(group.values())), 0.0)
    events: list[tuple[float, int, str]] = [(s.at, i, "+" + s.id) for i, s in enumerate(subs)]
    heapq.heapify(events)
    seq, t_prev, state = len(events), 0.0, FairState()
    while events:
        t = events[0][0]
        working = {group[s.id] for s in subs if s.at <= t_prev and done[s.id] < s.size}
        if len(working) == len(busy):
            for bid, n in running.items():
                busy[group[bid]] += n * (t - t_prev)
        t_prev = t
        while events and events[0][0] == t:
            _, _, what = heapq.heappop(events)
            bid = what[1:]
            if what[0] == "+":
                waiting[bid] = next(s.size for s in subs if s.id == bid)
            else:
                running[bid] -= 1
                done[bid] += 1
                if done[bid] == next(s.size for s in subs if s.id == bid):
                    finished[bid] = t
        cands = [Candidate(s.id, s.owner, Priority(s.priority), waiting[s.id], running[s.id],
                           T0 + s.at)
                 for s in subs if s.at <= t and (waiting[s.id] or running[s.id])]
        for bid in pick(cands, slots - sum(running.values()), state, T0 + t):
            waiting[bid] -= 1
            running[bid] += 1
            heapq.heappush(events, (t + latency * (1 + rng.uniform(-jitter, jitter)), seq,
                                    "-" + bid))
            seq += 1
    return Run(finished, busy)


def shares(run: Run) -> dict[str, float]:
    total = sum(run.busy.values())
    return {k: v / total for k, v in run.busy.items()}


# --- the scenarios --------------------------------------------------------------------

def test_a_small_batch_after_a_big_one_gets_the_next_free_slot() -> None:
    state = FairState()
    # The big batch holds all four slots; one just ended; the small batch has arrived.
    got = pick([cand("big", 96, 3), cand("small", 3, 0, created=2.5)], 1, state, T0 + 3)
    assert got == ["small"]


def test_a_small_batch_after_a_big_one_finishes_within_four_latencies() -> None:
    run = simulate([Sub("big", 100), Sub("small", 3, at=2.5)], slots=4, latency=1.0)
    assert run.finished["small"] - 2.5 <= 4 * 1.0
    assert run.finished["big"] > run.finished["small"] + 20  # it did not simply wait its turn


def test_high_overtakes_normal_within_one_latency() -> None:
    state = FairState()
    pick([cand("n", 50, 0, owner="ann")], 4, state, T0)
    # Every slot is ann's; the first to free goes to the high batch, of another owner or not.
    for owner in ("bob", "ann"):
        st = FairState.from_dict(state.to_dict())
        got = pick([cand("n", 46, 3, owner="ann"),
                    cand("h", 10, 0, owner=owner, priority="high", created=1)], 1, st, T0 + 1)
        assert got == ["h"], owner


def test_high_gets_the_larger_share_of_busy_slots() -> None:
    run = simulate([Sub("n", 200, owner="ann"), Sub("h", 200, at=0.5, owner="bob",
                                                      priority="high")], slots=6, latency=1.0)
    got = shares(run)
    assert got["bob"] == pytest.approx(2 / 3, abs=0.05)  # 4 : 2


@pytest.mark.parametrize(("jitter", "seed"), [(0.0, 0), (0.3, 1), (0.3, 2), (0.5, 3)])
def test_three_owners_share_the_slots_equally_while_all_have_work(jitter: float,
                                                                    seed: int) -> None:
    run = simulate([Sub("b1", 50, owner="ann"), Sub("b2", 20, owner="bob"),
                    Sub("b3", 5, owner="cy")], slots=4, latency=1.0, jitter=jitter, seed=seed)
    for owner, share in shares(run).items():
        assert abs(share - 1 / 3) <= 0.2 / 3, (owner, share)


def test_the_extra_slot_rotates_between_an_owners_batches() -> None:
    # Three equal batches of one owner on four slots: one holds two, in turn.
    state, extra = FairState(), []
    for second in range(6):
        got = Counter(pick([cand(b, 50, owner="ann") for b in "abc"], 4, state, T0 + second))
        extra += [b for b, n in got.items() if n == 2]
    assert extra == ["a", "b", "c", "a", "b", "c"]


def test_a_late_owner_is_owed_the_slots_it_could_not_have() -> None:
    # ann holds every slot when bob arrives; ties then go to bob until he is paid back.
    state = FairState()
    pick([cand("a", 100, 0, owner="ann")], 4, state, T0)
    pick([cand("a", 96, 4, owner="ann"), cand("b", 100, 0, owner="bob", created=0.1)], 0, state,
         T0 + 0.1)
    got = pick([cand("a", 96, 0, owner="ann"), cand("b", 100, 0, owner="bob", created=0.1)], 3,
               state, T0 + 1)
    assert Counter(got) == {"b": 2, "a": 1}


def test_one_owner_with_many_batches_does_not_outweigh_one_with_one() -> None:
    many = [cand(f"m{i}", 10, owner="ann", created=i) for i in range(10)]
    got = Counter(pick([*many, cand("one", 100, owner="bob", created=20)], 20, FairState(), T0))
    assert got["one"] == 10
    assert sum(n for bid, n in got.items() if bid != "one") == 10
    run = simulate([*(Sub(f"m{i}", 20, owner="ann") for i in range(10)), Sub("one", 60,
                                                                             owner="bob")],
                   slots=8)
    assert shares(run)["bob"] == pytest.approx(0.5, abs=0.05)


def test_batches_without_an_owner_are_each_their_own_group() -> None:
    got = Counter(pick([cand("x", 50, owner="ann"), cand("y", 50, owner="ann", created=1),
                        cand("z", 50, created=2), cand("w", 50, created=3)], 12, FairState(), T0))
    assert got == {"z": 4, "w": 4, "x": 2, "y": 2}


def test_an_owner_named_like_a_batch_is_another_group() -> None:
    got = Counter(pick([cand("ann", 50), cand("b", 50, owner="ann", created=1),
                        cand("c", 50, owner="bob", created=2)], 6, FairState(), T0))
    assert got == {"ann": 2, "b": 2, "c": 2}


def test_low_waits_while_normal_work_waits() -> None:
    state = FairState()
    got = pick([cand("low", 50, priority="low"), cand("n", 3, created=1)], 5, state, T0 + 60)
    assert got == ["n", "n", "n", "low", "low"]  # low only once no normal item waits
    got = pick([cand("low", 50, priority="low"), cand("n", 100, 4, created=1)], 4, state, T0 + 61)
    assert got == ["n"] * 4  # even with the normal batch holding every slot


def test_low_is_picked_once_aged() -> None:
    aged = T0 + LOW_AGING_DOUBLING_S
    low = cand("low", 50, priority="low")
    assert low.weight(T0) == WEIGHTS[Priority.LOW]
    assert low.weight(T0 + LOW_AGING_DOUBLING_S / 2) == pytest.approx(2**0.5)
    assert low.weight(aged + 10_000) == WEIGHTS[Priority.NORMAL]  # capped at normal's
    assert low.weight(aged - 1) < WEIGHTS[Priority.NORMAL] <= low.weight(aged)
    got = Counter(pick([low, cand("n", 100, created=1)], 8, FairState(), aged))
    assert got == {"low": 4, "n": 4}  # competes as a normal batch
    # Aging counts from its oldest waiting item, not from when the batch was made.
    fresh = cand("low", 50, priority="low", oldest=LOW_AGING_DOUBLING_S - 1)
    assert pick([fresh, cand("n", 100, created=1)], 8, FairState(), aged) == ["n"] * 8


def test_older_low_batches_get_more_than_younger_ones() -> None:
    old = cand("old", 100, priority="low", oldest=0)
    young = cand("young", 100, priority="low", created=1, oldest=LOW_AGING_DOUBLING_S * 0.9)
    got = Counter(pick([young, old], 10, FairState(), T0 + LOW_AGING_DOUBLING_S * 0.95))
    assert got["old"] > got["young"] > 0


def test_never_picks_more_than_waiting() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cands = [cand(f"b{i}", rng.randrange(4), rng.randrange(3), owner=rng.choice("ab"),
                      priority=rng.choice(list(Priority)), created=rng.random())
                 for i in range(rng.randrange(1, 6))]
        slots = rng.randrange(12)
        got = Counter(pick(cands, slots, FairState(), T0 + 100))
        assert sum(got.values()) == min(slots, sum(c.waiting for c in cands))
        for c in cands:
            assert got[c.batch_id] <= c.waiting
    assert pick([cand("a", 0, 2), cand("b", 1)], 5, FairState(), T0) == ["b"]


def test_output_is_deterministic_and_independent_of_input_order() -> None:
    rng = random.Random(3)
    cands = [cand(f"b{i:02d}", rng.randrange(1, 30), rng.randrange(3),
                  owner=rng.choice(["ann", "bob", None]), priority=rng.choice(list(Priority)),
                  created=i % 4) for i in range(20)]
    seed = FairState()
    pick(cands, 7, seed, T0)
    expected = pick(cands, 9, FairState.from_json(seed.to_json()), T0 + 1.5)
    for _ in range(5):
        rng.shuffle(cands)
        assert pick(cands, 9, FairState.from_json(seed.to_json()), T0 + 1.5) == expected
    # Equal groups: the older first, then the smaller id.
    assert pick([cand("b", 5, created=1), cand("a", 5, created=1), cand("c", 5)], 3, FairState(),
                T0) == ["c", "a", "b"]


def test_state_round_trips_through_json_and_prunes() -> None:
    state = FairState()
    assert pick([cand("a", 10, owner="ann"), cand("b", 10, owner="bob"), cand("c", 10)], 4, state,
                T0) == ["a", "b", "c", "a"]
    pick([cand("a", 8, 2, owner="ann"), cand("b", 9, 1, owner="bob"), cand("c", 9, 1)], 0, state,
         T0 + 2)
    text = state.to_json()
    assert len(text) < 400
    again = FairState.from_json(text)
    assert again.to_dict() == state.to_dict() == json.loads(text)
    # Over 2 s ann held 2 slots where her share was 4/3.
    assert again.owners["o:ann"].deficit == pytest.approx((4 / 3 - 2) * 2, abs=1e-5)
    assert again.owners["o:bob"].held == 1 and again.at == T0 + 2
    assert set(state.batches) == {"a", "b", "c"}
    assert set(state.owners) == {"o:ann", "o:bob", "b:c"}
    assert any(a.deficit for a in state.owners.values())  # something worth keeping
    # b vanished, c has nothing left waiting: both are forgotten, and c's owner group too.
    pick([cand("a", 9, 1, owner="ann"), cand("c", 0, 2)], 0, state, T0 + 3)
    assert set(state.batches) == {"a"} and set(state.owners) == {"o:ann"}
    # What a call drains forfeits its entry at once.
    got = pick([cand("a", 2, 1, owner="ann"), cand("d", 5, 3, owner="dan", created=1)], 3, state,
               T0 + 4)
    assert got == ["a", "a", "d"]
    assert set(state.batches) == {"d"} and set(state.owners) == {"o:dan"}
    state.prune([])
    assert state.batches == {} and state.owners == {}


@pytest.mark.parametrize("text", [None, "", "not json", "[]", '{"v": 99}',
                                  '{"v": 1, "owners": {"o:x": "bad"}, "at": "soon"}'])
def test_a_missing_or_damaged_state_is_a_fresh_one(text: str | None) -> None:
    state = FairState.from_json(text)
    assert state.owners == {} and state.batches == {} and state.at is None


def test_datetimes_naive_as_utc_and_floats_are_the_same_instants(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # a naive datetime must not mean local time
    time.tzset()
    try:
        at = datetime(2026, 1, 1, 12, 0, 0)
        assert seconds(at) == seconds(at.replace(tzinfo=UTC)) == 1_767_268_800.0
        aware = Candidate("x", None, Priority.LOW, 1, 0, at.replace(tzinfo=UTC))
        naive = Candidate("x", None, "low", 1, 0, at)  # type: ignore[arg-type]
        later = at.replace(tzinfo=UTC) + timedelta(seconds=LOW_AGING_DOUBLING_S / 2)
        assert aware.weight(later) == naive.weight(later) == naive.weight(later.timestamp())
        assert naive.weight(later) == pytest.approx(2**0.5)
        assert naive.priority is Priority.LOW
    finally:
        monkeypatch.undo()
        time.tzset()


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        Candidate("x", None, "urgent", 1, 0, T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cand("x", -1)
    with pytest.raises(ValueError):
        pick([cand("x", 1), cand("x", 2)], 1, FairState(), T0)


def _sent(cands: list[Candidate], picks: list[str]) -> list[Candidate]:
    """The candidates once `picks` are in flight."""
    n = Counter(picks)
    return [Candidate(c.batch_id, c.owner, c.priority, c.waiting - n[c.batch_id],
                      c.running + n[c.batch_id], c.created_at) for c in cands]


def test_a_settled_state_needs_no_call_with_no_slot_to_fill() -> None:
    """The feeder skips `pick(..., 0, ...)` (and its turn) while the state is settled: the next
    call with slots to fill picks the same as if the skipped call had been made."""
    cands = [cand("a", 30, 3, owner="x"), cand("b", 30, 1, owner="y", created=1),
             cand("c", 30, 0, owner="y", priority="high", created=2)]
    state = FairState()
    after = _sent(cands, pick(cands, 4, state, T0))  # every slot busy now
    assert state.settled(after, T0 + 2, max_age=5)
    called, skipped = FairState.from_json(state.to_json()), FairState.from_json(state.to_json())
    pick(after, 0, called, T0 + 2)  # the call the feeder leaves out
    ended = [Candidate(c.batch_id, c.owner, c.priority, c.waiting, c.running - 1, c.created_at)
             if c.batch_id == "a" else c for c in after]  # then one of a's items ends
    assert pick(ended, 3, called, T0 + 4) == pick(ended, 3, skipped, T0 + 4)
    assert called.to_dict() == skipped.to_dict()


def test_a_state_is_unsettled_by_a_new_group_a_changed_load_or_its_age() -> None:
    cands = [cand("a", 10, 2, owner="x"), cand("b", 10, 0, owner="y", created=1)]
    state = FairState()
    held = _sent(cands, pick(cands, 2, state, T0))
    assert state.settled(held, T0 + 1, max_age=5)
    a, b = held
    assert not state.settled([*held, cand("new", 3, 0, owner="z", created=2)], T0 + 1, 5)
    assert not state.settled([a, Candidate("b", "y", b.priority, b.waiting, b.running + 1,
                                           b.created_at)], T0 + 1, 5)  # a load changed
    assert not state.settled([a, Candidate("b", "y", b.priority, 0, b.running,
                                           b.created_at)], T0 + 1, 5)  # stopped waiting
    assert not state.settled(held, T0 + 6, max_age=5)
    assert not FairState().settled(held, T0, max_age=5)
