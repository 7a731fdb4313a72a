"""When a failed delivery is tried again: WEBHOOK_RETRY_SCHEDULE, stretched by Retry-After."""

from __future__ import annotations

from collections.abc import Sequence


def next_delay(failed_attempts: int, schedule: Sequence[float],
               retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after `failed_attempts` failures; None: give up.

    The n-th failure waits schedule[n-1], so a delivery gets len(schedule) + 1 attempts. A
    receiver's Retry-After makes the wait longer, never shorter, and never past the schedule's
    largest step (a receiver cannot park a delivery for a year)."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    delay = float(schedule[failed_attempts - 1])
    if retry_after is not None:
        delay = max(delay, min(float(retry_after), float(max(schedule))))
    return delay
