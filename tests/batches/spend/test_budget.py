"""Budgets in the real Redis: caps refuse with their reason, reconcile frees room, two
processes racing for the last dollar never overspend, windows roll over at UTC midnight."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
from typing import Any

import pytest
import redis

from app.batches.spend import budget
from app.batches.spend.budget import Refusal, Reservation, reconcile, reserve, spent
from tests.support.stack import use_settings

UTC = dt.UTC
NOON = dt.datetime(2026, 12, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(redis_server: Any) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


def _fill(client: redis.Redis, n: int, amount: float, now: dt.datetime, **kw: Any) -> list[Any]:
    return [reserve(client, f"call-{now:%Y%m%d%H%M%S}-{i}", amount, kw.pop("batch_id", None),
                    kw.pop("batch_cap", None), now, **kw) for i in range(n)]


def test_reservations_fit_up_to_the_daily_cap_then_are_refused_with_the_reason(client):
    held = _fill(client, 4, 5.0, NOON, daily_cap=20.0, monthly_cap=0)
    assert all(isinstance(r, Reservation) for r in held)
    refused = reserve(client, "call-5", 0.01, None, None, NOON, daily_cap=20.0, monthly_cap=0)
    assert isinstance(refused, Refusal)
    assert refused.cap == "daily"
    assert refused.reason == "daily budget of $20.00 reached; resumes at 00:00 UTC"
    assert refused.resume_at == dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert refused.spent_usd == 20.0
    assert spent(client, NOON) == budget.Spend(20.0, 20.0, "2026-12-31", "2026-12")


@pytest.fixture
def ten_minute_days():
    """BUDGET_DAILY_WINDOW_SECONDS=600: the daily cap's window rolls over every ten minutes."""
    use_settings(budget_daily_window_seconds="600")
    yield
    use_settings(budget_daily_window_seconds=None)


def test_a_shorter_daily_window_rolls_over_at_its_own_end(client, ten_minute_days):
    at = dt.datetime(2026, 12, 31, 12, 7, 30, tzinfo=UTC)
    assert isinstance(reserve(client, "a", 1.0, None, None, at, daily_cap=1.0, monthly_cap=0),
                      Reservation)
    refused = reserve(client, "b", 1.0, None, None, at, daily_cap=1.0, monthly_cap=0)
    assert isinstance(refused, Refusal) and refused.cap == "daily"
    assert refused.resume_at == dt.datetime(2026, 12, 31, 12, 10, tzinfo=UTC)
    assert refused.reason == "daily budget of $1.00 reached; resumes at 12:10:00 UTC"
    assert spent(client, at).day == "2026-12-31T12:00:00"
    # The next window counts from zero; the month still holds both.
    later = refused.resume_at
    assert isinstance(reserve(client, "b", 1.0, None, None, later, daily_cap=1.0,
                              monthly_cap=0), Reservation)
    assert spent(client, later) == budget.Spend(1.0, 2.0, "2026-12-31T12:10:00", "2026-12")


def test_the_monthly_cap_says_when_the_month_resumes(client):
    reserve(client, "a", 499.5, None, None, NOON, daily_cap=0, monthly_cap=500.0)
    refused = reserve(client, "b", 1.0, None, None, NOON, daily_cap=0, monthly_cap=500.0)
    assert isinstance(refused, Refusal)
    assert refused.reason == "monthly budget of $500.00 reached; resumes on 2027-01-01 00:00 UTC"
    assert refused.resume_at == dt.datetime(2027, 1, 1, tzinfo=UTC)
    # Both caps over: the month decides, as the day's rollover would not help.
    both = reserve(client, "c", 1.0, None, None, NOON, daily_cap=499.0, monthly_cap=500.0)
    assert isinstance(both, Refusal) and both.cap == "monthly"


def test_the_batch_cap_is_the_batch_own_and_only_raising_it_helps(client):
    assert isinstance(reserve(client, "a", 0.6, "b1", 1.0, NOON, daily_cap=0, monthly_cap=0),
                      Reservation)
    refused = reserve(client, "b", 0.6, "b1", 1.0, NOON, daily_cap=0, monthly_cap=0)
    assert isinstance(refused, Refusal)
    assert refused.reason == "batch budget of $1.00 reached; raise max_cost_usd to resume"
    assert refused.resume_at is None
    # Another batch has its own counter; the first fits again once its cap is raised.
    assert isinstance(reserve(client, "c", 0.6, "b2", 1.0, NOON, daily_cap=0, monthly_cap=0),
                      Reservation)
    assert isinstance(reserve(client, "b", 0.6, "b1", 1.5, NOON, daily_cap=0, monthly_cap=0),
                      Reservation)
    assert budget.batch_spent(client, "b1") == pytest.approx(1.2)


def test_the_batch_counter_is_seeded_from_the_database_when_redis_lost_it(client):
    refused = reserve(client, "a", 0.2, 7, 1.0, NOON, batch_spent=0.9, daily_cap=0,
                      monthly_cap=0)
    assert isinstance(refused, Refusal) and refused.cap == "batch"
    assert budget.batch_spent(client, 7) == pytest.approx(0.9)
    # A seed is only used when there is no counter: Redis's own count wins after that.
    held = reserve(client, "b", 0.1, 7, 1.0, NOON, batch_spent=0.0, daily_cap=0, monthly_cap=0)
    assert isinstance(held, Reservation)
    assert budget.batch_spent(client, 7) == pytest.approx(1.0)


def test_a_call_over_the_cap_by_itself_says_so(client):
    refused = reserve(client, "a", 0.05, None, None, NOON, daily_cap=0.01, monthly_cap=0)
    assert isinstance(refused, Refusal)
    assert refused.reason == ("daily budget of $0.01 is below one call's worst-case cost of "
                              "$0.05; raise BUDGET_DAILY_USD to resume")
    assert refused.resume_at is None


def test_reconcile_replaces_the_reservation_so_a_later_one_fits(client):
    caps = {"daily_cap": 1.0, "monthly_cap": 0}
    first = reserve(client, "a", 0.6, "b", None, NOON, **caps)
    assert isinstance(first, Reservation)
    assert isinstance(reserve(client, "b", 0.6, "b", None, NOON, **caps), Refusal)
    assert reconcile(client, first, 0.25)
    assert spent(client, NOON).today_usd == pytest.approx(0.25)
    assert budget.batch_spent(client, "b") == pytest.approx(0.25)
    second = reserve(client, "b", 0.6, "b", None, NOON, **caps)
    assert isinstance(second, Reservation)
    # Settling twice changes nothing; settling at 0 gives a reservation back whole.
    assert not reconcile(client, first, 0.25)
    assert reconcile(client, second, 0.0)
    assert not reconcile(client, second, 0.0)
    assert spent(client, NOON).today_usd == pytest.approx(0.25)


def test_reserving_again_under_the_same_key_is_the_same_reservation(client):
    first = reserve(client, "item-1:1", 0.4, "b", None, NOON, daily_cap=1.0, monthly_cap=0)
    again = reserve(client, "item-1:1", 0.4, "b", None, NOON, daily_cap=1.0, monthly_cap=0)
    assert first == again
    assert spent(client, NOON).today_usd == pytest.approx(0.4)


def test_the_day_window_rolls_at_utc_midnight_and_reconcile_counts_where_it_reserved(client):
    late = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    caps = {"daily_cap": 1.0, "monthly_cap": 0}
    held = reserve(client, "a", 1.0, None, None, late, **caps)
    assert isinstance(held, Reservation) and held.day == "2026-12-31"
    refused = reserve(client, "b", 0.5, None, None, late, **caps)
    assert isinstance(refused, Refusal)
    assert refused.resume_at == dt.datetime(2027, 1, 1, tzinfo=UTC)
    # A local time just before midnight in New York is already the next UTC day.
    midnight = dt.datetime(2026, 12, 31, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert isinstance(reserve(client, "b", 0.5, None, None, midnight, **caps), Reservation)
    assert reconcile(client, held, 0.75)  # after midnight: still yesterday's spend
    assert spent(client, late).today_usd == pytest.approx(0.75)
    assert spent(client, midnight) == budget.Spend(0.5, 0.5, "2027-01-01", "2027-01")


def test_counters_expire_after_their_window_plus_slack(client):
    reserve(client, "a", 0.5, "b", None, NOON, daily_cap=0, monthly_cap=0)
    day_ttl = client.ttl(budget.DAY_PREFIX + "2026-12-31")
    month_ttl = client.ttl(budget.MONTH_PREFIX + "2026-12")
    assert abs(day_ttl - (12 * 3600 + budget.DAY_SLACK.total_seconds())) <= 2
    assert abs(month_ttl - (12 * 3600 + budget.MONTH_SLACK.total_seconds())) <= 2
    assert 0 < client.ttl(budget.HOLD_PREFIX + "a") <= budget.HOLD_TTL.total_seconds() + 1
    assert 0 < client.ttl(budget.BATCH_PREFIX + "b") <= budget.BATCH_TTL.total_seconds() + 1
    assert all(key.startswith(budget.PREFIX.encode()) for key in client.keys("*"))


def test_caps_default_to_the_settings(client, monkeypatch):
    from tests.support.stack import use_settings

    use_settings(budget_daily_usd="0.5", budget_monthly_usd="0")
    try:
        assert isinstance(reserve(client, "a", 0.5, None, None, NOON), Reservation)
        refused = reserve(client, "b", 0.01, None, None, NOON)
        assert isinstance(refused, Refusal) and refused.limit_usd == 0.5
    finally:
        use_settings(budget_daily_usd=None, budget_monthly_usd=None)
    assert isinstance(reserve(client, "b", 0.01, None, None, NOON), Reservation)  # 0 = off


# -- two processes racing for the last dollar -------------------------------------------------

CAP = 10.0


def _race(url: str, name: str, amount: float, overrun: float, start: Any,
          out: Any) -> None:
    """Reserve `amount`, "call", reconcile at amount + `overrun`, until refused."""
    client = redis.Redis.from_url(url)
    client.ping()
    start.wait(30)  # both processes connected: they start together
    calls, rng = 0, random.Random(name)
    while True:
        result = reserve(client, f"{name}-{calls}", amount, "race", None, NOON,
                         daily_cap=CAP, monthly_cap=CAP)
        if isinstance(result, Refusal):
            out.put((name, calls, result.cap, result.spent_usd))
            return
        calls += 1
        if overrun or rng.random() < 0.5:
            reconcile(client, result, amount + overrun)


def _run_race(redis_url: str, amount: float, overrun: float) -> list[tuple[str, int, str, float]]:
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(redis_url, name, amount, overrun, start, out))
             for name in ("w1", "w2")]
    for proc in procs:
        proc.start()
    start.wait(30)
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(10)
        assert proc.exitcode == 0
    return results


def test_two_processes_racing_for_the_last_dollar_never_overspend(client, redis_server):
    # $9 spent already; the last dollar goes in 0.1-cent reservations that cost what they hold.
    reserve(client, "earlier", 9.0, None, None, NOON, daily_cap=CAP, monthly_cap=CAP)
    results = _run_race(redis_server.url, 0.001, 0.0)
    assert all(r[1] > 0 for r in results), results  # both got some: they did race
    calls = sum(r[1] for r in results)
    assert calls == 1000, results  # exactly $1.00 / $0.001: none lost, none over
    assert {r[2] for r in results} == {"monthly"}  # both caps reached: the month lifts last
    assert spent(client, NOON).today_usd == pytest.approx(CAP, abs=1e-9)
    assert all(r[3] <= CAP for r in results)


def test_spend_passes_the_cap_only_by_the_overrun_of_calls_in_flight(client, redis_server):
    # Each call costs 1 cent more than it reserved (a low estimate): a process holds at most
    # one reservation, so two processes may pass the cap by at most two overruns.
    reserve(client, "earlier", 9.0, None, None, NOON, daily_cap=CAP, monthly_cap=CAP)
    amount, overrun = 0.005, 0.001
    results = _run_race(redis_server.url, amount, overrun)
    total = spent(client, NOON).today_usd
    assert total <= CAP + 2 * overrun + 1e-9, results
    # A refusal means less than one reservation was left; reconciles only add after that.
    assert total > CAP - amount, results
    calls = sum(r[1] for r in results)
    assert total == pytest.approx(9.0 + calls * (amount + overrun), abs=1e-9)


def test_a_cap_below_a_millionth_of_a_dollar_is_not_printed_as_0_dot():
    """max_cost_usd 0.0000001 is valid (above 0) and paused with "batch budget of $0. is
    below one call's worst-case cost" (5.0000001 read "$5."); the CLI showed it as "$0"."""
    from app.cli.costs import usd

    for amount, text in ((0.0000001, "$0.0000001"), (0.00000049, "$0.00000049"),
                         (5.0000001, "$5"), (0.0042, "$0.0042"), (20, "$20.00")):
        assert budget.format_usd(amount) == text
    assert usd(0.0000001) == "$0.0000001" and usd(0.000412) == "$0.000412"
