"""The schedules domain's one error type."""

from __future__ import annotations

from app.core.errors import DomainError


class ScheduleError(DomainError):
    """Bad schedule input (422), an unknown schedule (404), a taken name (409), or Redis,
    where beat reads schedules, unavailable (503)."""
