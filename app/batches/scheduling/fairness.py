"""Which batch the next free worker slot should serve: fair, prioritised, deterministic (issue 10).

The metered dispatcher keeps a batch's items in the database (its *backlog*); a feeder puts only
about as many item messages on the broker as there are free slots, and for those slots asks
:func:`pick` which batches to take the next items from. This module is that decision and nothing
else: pure Python, no database, no Redis, no clock of its own (``now`` is passed in). The feeder
keeps a :class:`FairState` between runs (e.g. as :meth:`FairState.to_json` in Redis, under the
lock it runs under) and passes every active batch as a :class:`Candidate`.

How a pick is made
==================
Deficit round robin on two levels: across **owner groups** first, then across the chosen owner's
**batches**. A batch with ``owner=None`` is its own owner group, so an anonymous batch competes
with an editor as an equal. At each level, among the groups that have an item they may be given:

1. **Fewest slots in flight per weight** wins: the smallest ``(in_flight + 1) / weight``, where
   ``in_flight`` is the group's ``running`` count plus what this call has already picked for it
   (the virtual finish time of its next item, as in weighted fair queueing). This is the rule for
   running counts: a group that holds fewer slots than its weighted share gets the next one, so
   the shares of *busy slots*, not just of picks, follow the weights whatever the items' latency;
   a newly arrived batch gets the very next free slot rather than waiting for its turn in a
   rotation; and it needs no memory, so it is right at once after the state was lost.
2. **The larger deficit** breaks a tie. Whole slots cannot express every share (three equal owners
   on four slots: one of them holds two), so the remainder must rotate, and the deficit is what
   rotates it. It is deficit round robin's counter in the time domain: a group *earns* its
   weighted share of the slots its level holds and *pays* for the slots it holds, both per second
   (slot-seconds owed minus slot-seconds held, accrued at every call from the in-flight counts the
   previous call left). Counting slot-seconds rather than picks is what makes it converge to
   shares of busy slots: an owner who had all the slots before the others arrived owes them and
   loses ties until it has paid, and a pick that merely refills the slot an item just freed costs
   nothing extra. Without a deficit the oldest group would win every tie.
3. Then the older group (``created_at``; an owner group's is its oldest batch's), then the id.

As in deficit round robin, a group with nothing waiting forfeits its deficit (idle groups cannot
bank credit) and a group that no longer exists is pruned from the state.

Weights
=======
A batch's weight is its priority's (:data:`WEIGHTS`). An owner group's weight is the **maximum** of
the weights of its batches that can be picked now, not their sum: the sum would let an editor who
splits the same work into many batches outweigh one who submits a single batch. An owner with a
``high`` batch gets a ``high`` share; inside the owner, its batches share that by their weights.

``low`` is a gate as well as a weight: a ``low`` batch is picked only while no ``normal`` or
``high`` batch (of any owner) has an item waiting, unless it has aged enough. Its weight is
``1 · 2 ** (age / LOW_AGING_DOUBLING_S)``, capped at ``normal``'s, where ``age`` counts from
the candidate's ``oldest_waiting_at`` when the caller gives one, else from its ``created_at``.
The feeder gives none, so a batch ages from its creation: its items enter its backlog when it is
created, and an item that comes back to it later (a retry, an editor's retry of failed items)
keeps the batch's age instead of sending it to the back of the line again; and the feeder's read
stays one row per batch (app.batches.scheduling.backlog). At the cap (one doubling: 10 minutes)
it has *caught up*: no longer gated, it competes as a ``normal`` batch, so it is never starved
for ever. Below the cap the aged weight orders ``low`` batches among themselves (the one waiting
longer gets more).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from app.batches.enums import Priority  # re-exported: callers may take it from here

# high 4 : normal 2 : low 1.
# - high = 2 × normal. Against normal work that holds every slot, a high group's next item has
#   virtual finish (0 + 1) / 4 while any normal group's is at least (0 + 1) / 2, so the high batch
#   takes the first slot that frees; every slot frees within one provider latency L, so it starts
#   within L and then holds 2/3 of the slots against one normal owner (4 / (4 + 2k) against k).
#   That is overtaking without starving normal work, which strict priority would do.
# - normal = 2, not 1, leaves room below it: low starts at half of normal and one doubling of its
#   age makes it catch up, with whole base weights throughout.
# - low = 1 is only ever compared with other low batches while normal or high work waits (the
#   gate); once caught up it weighs as normal.
WEIGHTS: Final[Mapping[Priority, float]] = {
    Priority.HIGH: 4.0,
    Priority.NORMAL: 2.0,
    Priority.LOW: 1.0,
}

LOW_AGING_DOUBLING_S: Final = 600.0
"""A waiting ``low`` batch's weight doubles every this many seconds, up to ``normal``'s."""

MAX_ACCRUAL_S: Final = 60.0
"""At most this long a gap between two calls accrues deficits (after an outage the in-flight
counts the previous call left are stale; the feeder also runs on a short timer)."""

DEFICIT_CAP: Final = 600.0
"""Deficits are kept within ± this many slot-seconds, so that old history cannot decide ties
for long once the mix of work changes."""

STATE_VERSION: Final = 1

Instant = datetime | float
"""A point in time: an aware datetime, a naive one taken as UTC (as the database stores them),
or seconds since the epoch."""


def seconds(t: Instant) -> float:
    """``t`` as seconds since the epoch; a naive datetime is taken as UTC."""
    if type(t) is float:
        return t
    if isinstance(t, datetime):
        return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()
    return float(t)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One active batch as the feeder sees it now.

    Pass every batch with items waiting *or* in flight: a batch with nothing waiting is never
    picked, but its ``running`` items still count towards its owner's share of the slots.
    """

    batch_id: str
    owner: str | None
    """An editor's name or a team; ``None``: the batch is its own owner group."""
    priority: Priority
    """A :class:`Priority` or its value (``"high"``, ``"normal"``, ``"low"``)."""
    waiting: int
    """Items in its backlog, ready to dispatch (not on the broker yet)."""
    running: int
    """Items in flight: dispatched and not finished, whether still on the broker or executing."""
    created_at: Instant
    oldest_waiting_at: Instant | None = None
    """Since when its oldest waiting item has waited (ages ``low``); ``None``: ``created_at``
    (the feeder's choice: see "Weights" above)."""
    group: str = field(init=False, repr=False, compare=False)
    """Its owner group's key (prefixed, so an owner named like a batch id stays distinct)."""

    def __post_init__(self) -> None:
        # The database stores the priority as text: accept that, and fail early on a bad one.
        if type(self.priority) is not Priority:
            object.__setattr__(self, "priority", Priority(self.priority))
        if self.waiting < 0 or self.running < 0:
            raise ValueError(f"batch {self.batch_id}: negative waiting or running count")
        group = f"b:{self.batch_id}" if self.owner is None else f"o:{self.owner}"
        object.__setattr__(self, "group", group)

    def weight(self, now: Instant, *, low_doubling_s: float = LOW_AGING_DOUBLING_S) -> float:
        """Its weight at ``now``: its priority's, or for ``low`` the aged weight."""
        if self.priority is not Priority.LOW:
            return WEIGHTS[self.priority]
        since = self.created_at if self.oldest_waiting_at is None else self.oldest_waiting_at
        cap, low = WEIGHTS[Priority.NORMAL], WEIGHTS[Priority.LOW]
        if low_doubling_s <= 0:
            return cap
        doublings = max(0.0, seconds(now) - seconds(since)) / low_doubling_s
        return cap if doublings >= math.log2(cap / low) else min(cap, low * 2.0**doublings)


@dataclass(slots=True)
class Account:
    """One group's entry in :class:`FairState`."""

    deficit: float = 0.0
    """Slot-seconds owed minus slot-seconds held, while it had work waiting."""
    held: int = 0
    """Its items in flight when the last call ended (what it held since)."""


@dataclass(slots=True)
class FairState:
    """The deficit counters kept between feeder runs, per owner group and per batch.

    Small and JSON-able (:meth:`to_dict`, :meth:`to_json`), to live in Redis under the feeder's
    lock. Losing it is harmless: the in-flight counts keep the shares right and only the rotation
    of ties starts over. Only groups with items waiting have an entry.
    """

    at: float | None = None
    """When the last call ran (seconds since the epoch)."""
    owners: dict[str, Account] = field(default_factory=dict)
    """Per owner group (:attr:`Candidate.group`)."""
    batches: dict[str, Account] = field(default_factory=dict)
    """Per batch id."""

    def to_dict(self) -> dict[str, Any]:
        def dump(accounts: dict[str, Account]) -> dict[str, list[float]]:
            return {k: [round(a.deficit, 6), a.held] for k, a in sorted(accounts.items())}

        return {"v": STATE_VERSION, "at": self.at, "owners": dump(self.owners),
                "batches": dump(self.batches)}

    @classmethod
    def from_dict(cls, data: Any) -> FairState:
        """The state :meth:`to_dict` wrote. A missing, foreign or damaged one gives a fresh state:
        it is only a memory of fairness, the database is the truth."""
        if not isinstance(data, Mapping) or data.get("v") != STATE_VERSION:
            return cls()
        at = data.get("at")
        return cls(at=float(at) if isinstance(at, int | float) and _finite(at) else None,
                   owners=_accounts(data.get("owners")),
                   batches=_accounts(data.get("batches")))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> FairState:
        if not text:
            return cls()
        try:
            return cls.from_dict(json.loads(text))
        except ValueError:
            return cls()

    def settled(self, candidates: Iterable[Candidate], now: Instant, max_age: float) -> bool:
        """Whether ``pick(candidates, 0, self, now)`` would do nothing but accrue deficits, which
        the next call accrues all the same: this state is at most ``max_age`` seconds old, and
        the groups with items waiting are exactly those it keeps, each holding what it recorded.

        A caller with no slot to fill may then skip the call and its lock. The next call accrues
        the whole interval in one step with the same held counts and weights (only a ``low``
        batch's ageing within it is taken at its end), so the picks stay the same."""
        if self.at is None or not 0 <= seconds(now) - self.at <= max_age:
            return False
        held: dict[str, int] = {}
        owners: dict[str, int] = {}
        waiting_owners: set[str] = set()
        for c in candidates:
            owners[c.group] = owners.get(c.group, 0) + c.running
            if c.waiting > 0:
                held[c.batch_id] = c.running
                waiting_owners.add(c.group)
        if held.keys() != self.batches.keys() or waiting_owners != self.owners.keys():
            return False
        return (all(self.batches[b].held == n for b, n in held.items())
                and all(self.owners[o].held == owners[o] for o in waiting_owners))

    def prune(self, candidates: Iterable[Candidate]) -> None:
        """Forget the groups that no longer exist and, as deficit round robin does when a queue
        empties, those with nothing waiting."""
        batches: set[str] = set()
        owners: set[str] = set()
        for c in candidates:
            if c.waiting > 0:
                batches.add(c.batch_id)
                owners.add(c.group)
        self.batches = {k: a for k, a in self.batches.items() if k in batches}
        self.owners = {k: a for k, a in self.owners.items() if k in owners}


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _accounts(raw: Any) -> dict[str, Account]:
    out: dict[str, Account] = {}
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            if (isinstance(k, str) and isinstance(v, list | tuple) and len(v) == 2
                    and _finite(v[0]) and _finite(v[1]) and v[1] >= 0):
                out[k] = Account(float(v[0]), int(v[1]))
    return out


class _Batch:
    __slots__ = ("id", "weight", "gated", "left", "load", "account")

    def __init__(self, c: Candidate, weight: float, account: Account | None) -> None:
        self.id = c.batch_id
        self.weight = weight
        self.gated = weight < WEIGHTS[Priority.NORMAL]  # low, not caught up
        self.left = c.waiting  # still pickable in this call
        self.load = c.running  # in flight, counting this call's picks
        self.account = account  # None: new since the last call


class _Owner:
    __slots__ = ("key", "batches", "ready", "weight", "load", "left", "account")

    def __init__(self, key: str, account: Account | None) -> None:
        self.key = key
        self.batches: list[_Batch] = []  # oldest first
        self.ready: list[_Batch] = []  # pickable now
        self.weight = 0.0  # the max of the ready batches' weights
        self.load = 0
        self.left = 0  # waiting in all its batches, still pickable in this call
        self.account = account

    def refresh(self, gate: bool) -> None:
        self.ready = [b for b in self.batches if b.left > 0 and not (gate and b.gated)]
        self.weight = max((b.weight for b in self.ready), default=0.0)


def _accrue(groups: list[Any], dt: float) -> None:
    """Each group with an account earns its weighted share of what the groups held, and pays
    for what it held, over ``dt`` seconds."""
    known = [g for g in groups if g.account is not None]
    if not known:
        return
    held = weight = 0.0
    for g in known:
        held += g.account.held
        weight += g.weight
    rate = held / weight
    for g in known:
        a = g.account
        deficit = a.deficit + (rate * g.weight - a.held) * dt
        a.deficit = -DEFICIT_CAP if deficit < -DEFICIT_CAP else min(deficit, DEFICIT_CAP)


def _best(groups: list[Any]) -> Any:
    """The smallest (load + 1) / weight; then the largest deficit; then the first (oldest)."""
    best = groups[0]
    best_tag = (best.load + 1) / best.weight
    for g in groups[1:]:
        tag = (g.load + 1) / g.weight
        if tag < best_tag or (tag == best_tag and _deficit(g) > _deficit(best)):
            best, best_tag = g, tag
    return best


def _age_order(c: Candidate) -> tuple[float, str]:
    return seconds(c.created_at), c.batch_id


def _deficit(g: _Owner | _Batch) -> float:
    return 0.0 if g.account is None else g.account.deficit


def pick(
    candidates: Iterable[Candidate],
    slots: int,
    state: FairState,
    now: Instant | None = None,
    *,
    low_doubling_s: float = LOW_AGING_DOUBLING_S,
) -> list[str]:
    """The batch id for each of the next ``slots`` items to dispatch, in dispatch order.

    Fewer than ``slots`` when fewer items wait, and never more of a batch than its ``waiting``.
    ``state`` is updated in place (accrued deficits, in-flight counts, pruning): store it back for
    the next call. Calling with ``slots=0`` only does that, e.g. when a batch arrives while every
    slot is busy: call it on every arrival, so that the deficits count from the moment a group has
    work (an owner who arrives while another holds every slot is owed from then). The result
    depends on the arguments only, not on the order of ``candidates``;
    ``now`` (default: the wall clock) drives the deficits and the aging of ``low``.
    """
    now_s = time.time() if now is None else seconds(now)
    cands = sorted(candidates, key=_age_order)
    if len({c.batch_id for c in cands}) != len(cands):
        raise ValueError("duplicate batch_id among candidates")
    state.prune(cands)

    owners: dict[str, _Owner] = {}
    ungated_left = total_left = 0
    for c in cands:
        weight = (c.weight(now_s, low_doubling_s=low_doubling_s) if c.priority is Priority.LOW
                  else WEIGHTS[c.priority])
        b = _Batch(c, weight, state.batches.get(c.batch_id))
        owner = owners.get(c.group)
        if owner is None:
            owner = owners[c.group] = _Owner(c.group, state.owners.get(c.group))
        owner.batches.append(b)
        owner.load += c.running
        owner.left += b.left
        total_left += b.left
        if not b.gated:
            ungated_left += b.left
    gate = ungated_left > 0
    active = []
    for owner in owners.values():
        owner.refresh(gate)
        if owner.ready:
            active.append(owner)

    # What was held since the last call accrues to the deficits of those who could be picked.
    if state.at is not None and now_s > state.at:
        dt = min(now_s - state.at, MAX_ACCRUAL_S)
        _accrue(active, dt)
        for owner in active:
            _accrue(owner.ready, dt)

    picked: list[str] = []
    while len(picked) < slots and total_left > 0:
        owner = _best(active)
        b = _best(owner.ready)
        picked.append(b.id)
        b.left -= 1
        b.load += 1
        owner.load += 1
        owner.left -= 1
        total_left -= 1
        if not b.gated:
            ungated_left -= 1
        if b.left == 0 or (gate and ungated_left == 0):
            gate = ungated_left > 0  # the last normal item went: low batches may go now
            active = []
            for o in owners.values():
                o.refresh(gate)
                if o.ready:
                    active.append(o)

    # Store what each group holds from now on; what has nothing left waiting forfeits its entry.
    state.at = now_s
    for owner in owners.values():
        if owner.left:
            state.owners.setdefault(owner.key, Account()).held = owner.load
        else:
            state.owners.pop(owner.key, None)
        for b in owner.batches:
            if b.left:
                state.batches.setdefault(b.id, Account()).held = b.load
            else:
                state.batches.pop(b.id, None)
    return picked
