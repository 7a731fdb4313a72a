"""The day's and the month's spend outlive Redis: a counter Redis lost (FLUSHALL mid-day) is
rebuilt from the database (the finished items' cost) before the next reservation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis
from sqlalchemy import update

from app.batches.models import GenerationItem
from app.batches.spend import budget, costs
from app.batches.spend.budget import Refusal, Reservation
from app.core.db import session_scope
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch

UTC = dt.UTC


def _spent(task_id: str, index: int, cost: float, at: dt.datetime) -> None:
    with session_scope() as session:
        session.execute(update(GenerationItem)
                        .where(GenerationItem.task_id == task_id, GenerationItem.index == index)
                        .values(cost_usd=cost, finished_at=at))


def test_the_cap_still_counts_the_days_spend_after_redis_lost_it(db: Any,
                                                                 redis_server: Any) -> None:
    client = redis.Redis.from_url(redis_server.url)
    now = dt.datetime.now(UTC)
    month_start = dt.datetime(now.year, now.month, 1, tzinfo=UTC)
    task, _ = add_batch([EN_ARTICLE, ZH_ARTICLE, EN_ARTICLE])
    # Today: $4.00 spent through calls that reserved and settled as usual.
    for index, cost in enumerate((1.5, 2.5)):
        held = budget.reserve(client, f"call-{index}", 3.0, None, None, now, daily_cap=5.0,
                              monthly_cap=50.0, spent_since=costs.recorded_spend)
        assert isinstance(held, Reservation)
        budget.reconcile(client, held, cost)
        _spent(task, index, cost, now)
    # Earlier this month (or today, on the 1st): $40.00.
    earlier = min(month_start + dt.timedelta(seconds=1), now)
    _spent(task, 2, 40.0, earlier)
    assert budget.spent(client, now).today_usd == 4.0

    client.flushall()  # Redis lost everything mid-day
    refused = budget.reserve(client, "call-after-flush", 1.5, None, None, now, daily_cap=5.0,
                             monthly_cap=500.0, spent_since=costs.recorded_spend)
    assert isinstance(refused, Refusal) and refused.cap == "daily"
    assert refused.spent_usd == (44.0 if earlier.date() == now.date() else 4.0)
    assert budget.spent(client, now).month_usd == 44.0

    # The month's cap counts the month's spend too.
    client.flushall()
    refused = budget.reserve(client, "call-month", 10.0, None, None, now, daily_cap=0,
                             monthly_cap=50.0, spent_since=costs.recorded_spend)
    assert isinstance(refused, Refusal) and refused.cap == "monthly"
    assert refused.spent_usd == 44.0


def test_without_a_daily_or_monthly_cap_nothing_is_read_back(db: Any, redis_server: Any) -> None:
    client = redis.Redis.from_url(redis_server.url)
    calls: list[dt.datetime] = []

    def spent_since(since: dt.datetime) -> float:
        calls.append(since)
        return 0.0

    held = budget.reserve(client, "batch-only", 1.0, "b1", 5.0, daily_cap=0, monthly_cap=0,
                          spent_since=spent_since)
    assert isinstance(held, Reservation) and calls == []
    client.flushall()
    budget.reserve(client, "daily", 1.0, None, None, daily_cap=5.0, monthly_cap=0,
                   spent_since=spent_since)
    budget.reserve(client, "daily-again", 1.0, None, None, daily_cap=5.0, monthly_cap=0,
                   spent_since=spent_since)
    assert len(calls) == 2  # the day and the month, read once: the counters exist since
