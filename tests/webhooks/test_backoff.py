"""The retry schedule: growing steps, Retry-After honoured up to the largest, then give up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from app.config import Settings
from app.webhooks.backoff import next_delay
from app.webhooks.sender import retry_after_seconds

SCHEDULE = [5, 30, 120, 600, 3600, 21600]


def test_each_failure_waits_the_next_step_then_the_delivery_gives_up():
    assert [next_delay(n, SCHEDULE) for n in range(1, 7)] == SCHEDULE
    assert next_delay(7, SCHEDULE) is None
    assert next_delay(0, SCHEDULE) is None


def test_retry_after_stretches_a_step_but_never_past_the_largest():
    assert next_delay(1, SCHEDULE, retry_after=60) == 60
    assert next_delay(3, SCHEDULE, retry_after=1) == 120  # never sooner than the schedule
    assert next_delay(1, SCHEDULE, retry_after=10**9) == 21600


def test_retry_after_in_seconds_or_as_an_http_date():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True),
                               now) == 90
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_the_schedule_is_a_setting():
    assert Settings(webhook_retry_schedule="1,2.5").webhook_retry_schedule == [1, 2.5]
    assert Settings(webhook_retry_schedule="[3, 4]").webhook_retry_schedule == [3, 4]
    assert Settings().webhook_retry_schedule[:4] == [5, 30, 120, 600]
