"""Spend caps shared by every worker on every machine: reservations in Redis.

Three caps, each a counter of USD spent (and reserved) in Redis, changed only by Lua scripts so
that a check and its increment are one atomic step for all processes, like the rate limiter:

* the UTC day (`BUDGET_DAILY_USD`, 0 = off; a shorter window with
  BUDGET_DAILY_WINDOW_SECONDS, to watch one roll over) and the UTC month (`BUDGET_MONTHLY_USD`,
  0 = off);
* one batch's own `max_cost_usd`, passed by the caller (None = no cap).

Before a call a worker reserves its worst-case cost (`app.llm.prices.worst_case_cost`) in all
three at once, or in none: `reserve` returns a `Reservation`, or a `Refusal` naming the cap and
when it lifts, and then no call starts. After the call, `reconcile` replaces the reservation by
what the call really cost (0 when it never reached the provider). So the spend can pass
a cap only by what the calls in flight cost beyond their worst-case estimate; with true
worst-case estimates, never.

The counters run whenever they are called, also with every cap off; the worker calls them only
when some cap applies to the call (app.batches.spend.costs), so an installation without caps spends
no Redis round trip on them.
Money is kept as integer nano-dollars in Redis: sums are exact and floats never drift.
Windows are taken from the caller's `now` (UTC), not Redis's clock, so tests can move time; a
reservation and its reconcile always count in the window the reservation was made in.

Redis errors propagate: the caller decides (the worker fails closed, as with the rate limit).
A worker that dies between `reserve` and `reconcile` leaves its reservation counted until the
window ends: the budget errs on the side of spending less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import redis

from app.config import get_settings
from app.core import names

# Redis keys (app.core.names): every key written here starts with PREFIX.
PREFIX = names.BUDGET_PREFIX
# + YYYY-MM-DD (UTC): USD spent and reserved that day (+ YYYY-MM-DDTHH:MM:SS, the window's
# start, for a window shorter than a day).
DAY_PREFIX = names.BUDGET_DAY_PREFIX
MONTH_PREFIX = names.BUDGET_MONTH_PREFIX  # + YYYY-MM (UTC)
BATCH_PREFIX = names.BUDGET_BATCH_PREFIX  # + batch id: the batch's own spend and reservations
HOLD_PREFIX = names.BUDGET_HOLD_PREFIX  # + key_id: one reservation in flight (amount and keys)

UNITS = 1_000_000_000  # nano-dollars per USD in the counters
DAY = 86400  # seconds: the daily cap's window unless BUDGET_DAILY_WINDOW_SECONDS says otherwise
# Counters outlive their window by this much, so a late reconcile still finds them.
DAY_SLACK = dt.timedelta(days=2)
MONTH_SLACK = dt.timedelta(days=7)
# A batch's counter, refreshed on every reservation. Expired (a batch paused for long, a
# flushed Redis), it is rebuilt from the `batch_spent` the caller passes from the database.
BATCH_TTL = dt.timedelta(days=40)
# A reservation not reconciled by then stays counted (the Batch API lane holds one up to 24 h).
HOLD_TTL = dt.timedelta(days=3)

Cap = Literal["daily", "monthly", "batch"]

# KEYS: day, month, batch ('' = none), hold. ARGV: amount, day cap, month cap, batch cap
# (nano-dollars, -1 = no cap), day ttl, month ttl, batch ttl, hold ttl (seconds), batch seed,
# day seed, month seed (nano-dollars, -1 = none). Returns {1, amount, day key, month key, batch
# key} when reserved (also for a key_id reserved before: the same reservation), {2} when a
# daily or monthly cap applies and its window's counter is missing with no seed given (the
# caller reads the spend from the database and calls again with the seeds), else {0, over,
# day, month, batch}: `over` is a bit mask of the caps that would be exceeded (1 day, 2
# month, 4 batch).
_RESERVE = """
local prior = redis.call('HMGET', KEYS[4], 'amount', 'day', 'month', 'batch')
if prior[1] then
  return {1, tonumber(prior[1]), prior[2], prior[3], prior[4]}
end
local windowed = tonumber(ARGV[2]) >= 0 or tonumber(ARGV[3]) >= 0
for i, key in ipairs({KEYS[1], KEYS[2]}) do
  local seed = tonumber(ARGV[9 + i])
  if seed >= 0 then
    redis.call('SET', key, ARGV[9 + i], 'NX')
  elseif windowed and redis.call('EXISTS', key) == 0 then
    return {2}
  end
end
local has_batch = KEYS[3] ~= ''
if has_batch and tonumber(ARGV[9]) >= 0 then
  redis.call('SET', KEYS[3], ARGV[9], 'NX')
end
local amount = tonumber(ARGV[1])
local day = tonumber(redis.call('GET', KEYS[1]) or '0')
local month = tonumber(redis.call('GET', KEYS[2]) or '0')
local batch = 0
if has_batch then batch = tonumber(redis.call('GET', KEYS[3]) or '0') end
local caps = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
local spent = {day, month, batch}
local over = 0
for i, bit in ipairs({1, 2, 4}) do
  if caps[i] >= 0 and spent[i] + amount > caps[i] then over = over + bit end
end
if over > 0 then
  return {0, over, day, month, batch}
end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])
if has_batch then
  redis.call('INCRBY', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[7])
end
redis.call('HSET', KEYS[4], 'amount', ARGV[1], 'day', KEYS[1], 'month', KEYS[2],
           'batch', KEYS[3])
redis.call('EXPIRE', KEYS[4], ARGV[8])
return {1, amount, KEYS[1], KEYS[2], KEYS[3]}
"""

# KEYS: hold. ARGV: actual cost (nano-dollars). Moves every counter of the reservation by
# actual - reserved (never below 0) and forgets it. Returns that delta, or false when the
# reservation was already settled (or expired): settling twice changes nothing.
_RECONCILE = """
local h = redis.call('HMGET', KEYS[1], 'amount', 'day', 'month', 'batch')
if not h[1] then return false end
redis.call('DEL', KEYS[1])
local delta = tonumber(ARGV[1]) - tonumber(h[1])
if delta ~= 0 then
  for i = 2, 4 do
    local key = h[i]
    if key and key ~= '' and redis.call('EXISTS', key) == 1 then
      local value = redis.call('INCRBY', key, string.format('%.0f', delta))
      if value < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
    end
  end
end
return delta
"""


@dataclass(frozen=True)
class Reservation:
    """A worst-case cost held in the counters until `reconcile`."""

    key_id: str
    amount_usd: float
    day: str  # the UTC day window it counts in, "2026-12-31"
    month: str  # "2026-12"
    batch_id: str | None


@dataclass(frozen=True)
class Refusal:
    """No call may start: `cap` is reached. `resume_at` is when the window rolls over (UTC), or
    None when only raising the cap helps."""

    cap: Cap
    limit_usd: float
    spent_usd: float  # that cap's spend and reservations when refused
    amount_usd: float  # what was asked for
    reason: str  # "daily budget of $20.00 reached; resumes at 00:00 UTC"
    resume_at: dt.datetime | None


@dataclass(frozen=True)
class Spend:
    """USD spent (reservations in flight included) in the current UTC day and month."""

    today_usd: float
    month_usd: float
    day: str
    month: str


# The spend recorded in the database since a window's start (UTC), for a counter Redis lost.
SpendSince = Callable[[dt.datetime], float]


def reserve(client: redis.Redis, key_id: str, amount: float, batch_id: str | int | None,
            batch_cap: float | None, now: dt.datetime | None = None, *,
            batch_spent: float | None = None, daily_cap: float | None = None,
            monthly_cap: float | None = None,
            spent_since: SpendSince | None = None) -> Reservation | Refusal:
    """Hold `amount` USD in today's, this month's and the batch's counters, or refuse.

    `key_id` names this call (e.g. "item-42:attempt-1"): reserving again under the same id
    returns the reservation already held, so a retry after a Redis timeout is safe.
    `batch_cap` is the batch's `max_cost_usd` (None = no cap); `batch_spent`, the batch's spend
    so far from the database, seeds its counter when Redis has none. `daily_cap` and
    `monthly_cap` default to BUDGET_DAILY_USD and BUDGET_MONTHLY_USD (0 = off).

    When one of those caps applies and Redis has no counter for the day or the month (a new
    window, or a Redis that lost its data: flushed, restarted without persistence),
    `spent_since(window start)` rebuilds both from the database before anything is reserved,
    so the earlier spend still counts. Without it a missing counter starts at 0.
    """
    if amount < 0:
        raise ValueError(f"amount must be >= 0, got {amount}")
    now = _utc(now)
    settings = get_settings()
    daily = settings.budget_daily_usd if daily_cap is None else daily_cap
    monthly = settings.budget_monthly_usd if monthly_cap is None else monthly_cap
    day, month = _day(now), _month(now)
    day_key, month_key = DAY_PREFIX + day, MONTH_PREFIX + month
    batch_key = f"{BATCH_PREFIX}{batch_id}" if batch_id is not None else ""
    args = [_nano(amount), _nano(daily) if daily > 0 else -1,
            _nano(monthly) if monthly > 0 else -1,
            _nano(batch_cap) if batch_cap is not None else -1,
            _seconds(_next_day(now) - now + DAY_SLACK),
            _seconds(_next_month(now) - now + MONTH_SLACK),
            _seconds(BATCH_TTL), _seconds(HOLD_TTL),
            _nano(batch_spent) if batch_spent is not None else -1]
    keys = [day_key, month_key, batch_key, HOLD_PREFIX + key_id]
    script = client.register_script(_RESERVE)
    result = script(keys=keys, args=[*args, -1, -1])
    if int(result[0]) == 2:
        seeds = (spent_since(_day_start(now)), spent_since(_month_start(now))) if spent_since \
            else (0.0, 0.0)
        result = script(keys=keys, args=[*args, *(_nano(max(0.0, s)) for s in seeds)])
    if int(result[0]) == 1:
        held_day, held_month, held_batch = (_text(v) for v in result[2:5])
        return Reservation(
            key_id=key_id, amount_usd=int(result[1]) / UNITS,
            day=held_day.removeprefix(DAY_PREFIX), month=held_month.removeprefix(MONTH_PREFIX),
            batch_id=held_batch.removeprefix(BATCH_PREFIX) or None,
        )
    over, spent_day, spent_month, spent_batch = (int(v) for v in result[1:5])
    # The cap that lifts last decides: a batch cap only lifts when raised, then the month's.
    if over & 4:
        assert batch_cap is not None
        return _refusal("batch", batch_cap, spent_batch, amount, None, now)
    if over & 2:
        return _refusal("monthly", monthly, spent_month, amount, _next_month(now), now)
    return _refusal("daily", daily, spent_day, amount, _next_day(now), now)


def reconcile(client: redis.Redis, reservation: Reservation, actual_cost: float) -> bool:
    """Replace the reservation by the call's real cost, in the windows it was reserved in.
    False when it was already settled (or expired after HOLD_TTL): nothing changes then."""
    if actual_cost < 0:
        raise ValueError(f"actual_cost must be >= 0, got {actual_cost}")
    delta = client.register_script(_RECONCILE)(
        keys=[HOLD_PREFIX + reservation.key_id], args=[_nano(actual_cost)])
    return delta is not None


def spent(client: redis.Redis, now: dt.datetime | None = None) -> Spend:
    """Today's and this month's spend (UTC), reservations in flight included."""
    now = _utc(now)
    day, month = _day(now), _month(now)
    today_nano, month_nano = client.mget([DAY_PREFIX + day, MONTH_PREFIX + month])
    return Spend(today_usd=int(today_nano or 0) / UNITS, month_usd=int(month_nano or 0) / UNITS,
                 day=day, month=month)


def batch_spent(client: redis.Redis, batch_id: str | int) -> float | None:
    """The batch's counter (spend + reservations in flight), or None when Redis has none."""
    value = client.get(f"{BATCH_PREFIX}{batch_id}")
    return None if value is None else int(value) / UNITS


def format_usd(amount: float) -> str:
    """"$20.00"; small amounts keep their digits ("$0.0042", "$0.0000001")."""
    if amount == 0 or round(amount, 2) == amount or abs(amount) >= 100:
        return f"${amount:,.2f}"
    # Six decimals, or up to twelve for a cap below a millionth (six alone printed "$0.").
    digits = 6 if round(amount, 6) else 12
    return f"${amount:,.{digits}f}".rstrip("0").rstrip(".")


# What an editor or an operator raises for each cap.
CAP_SETTINGS: dict[str, str] = {"daily": "BUDGET_DAILY_USD", "monthly": "BUDGET_MONTHLY_USD",
                                "batch": "max_cost_usd"}


# -- internals -------------------------------------------------------------------------------

def _refusal(cap: Cap, limit: float, spent_nano: int, amount: float,
             resume_at: dt.datetime | None, now: dt.datetime) -> Refusal:
    setting = CAP_SETTINGS[cap]
    if amount > limit:  # this call alone is over the cap: no window rolling over will help
        reason = (f"{cap} budget of {format_usd(limit)} is below one call's worst-case cost "
                  f"of {format_usd(amount)}; raise {setting} to resume")
        resume_at = None
    elif resume_at is None:
        reason = f"{cap} budget of {format_usd(limit)} reached; raise {setting} to resume"
    elif cap == "daily":
        at = "00:00" if _day_window() == DAY else f"{resume_at:%H:%M:%S}"
        reason = f"daily budget of {format_usd(limit)} reached; resumes at {at} UTC"
    else:
        reason = (f"monthly budget of {format_usd(limit)} reached; resumes on "
                  f"{resume_at:%Y-%m-%d} 00:00 UTC")
    return Refusal(cap=cap, limit_usd=limit, spent_usd=spent_nano / UNITS, amount_usd=amount,
                   reason=reason, resume_at=resume_at)


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _day_window() -> int:
    return get_settings().budget_daily_window_seconds


def _day_start(now: dt.datetime) -> dt.datetime:
    window = _day_window()
    return dt.datetime.fromtimestamp(int(now.timestamp()) // window * window, dt.UTC)


def _day(now: dt.datetime) -> str:
    """The daily window `now` is in: its UTC date, or its start for a shorter window."""
    if _day_window() == DAY:
        return f"{now:%Y-%m-%d}"
    return f"{_day_start(now):%Y-%m-%dT%H:%M:%S}"


def _month(now: dt.datetime) -> str:
    return f"{now:%Y-%m}"


def _next_day(now: dt.datetime) -> dt.datetime:
    """When the daily window `now` is in rolls over (00:00 UTC the next day by default)."""
    return _day_start(now) + dt.timedelta(seconds=_day_window())


def _month_start(now: dt.datetime) -> dt.datetime:
    return dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)


def _next_month(now: dt.datetime) -> dt.datetime:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def _nano(usd: float) -> int:
    return round(usd * UNITS)


def _seconds(delta: dt.timedelta) -> int:
    return max(1, int(delta.total_seconds()) + 1)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
