"""The schedules domain's errors: one base, and a subclass per failure a caller may catch."""

from __future__ import annotations

from app.core.errors import DomainError


class ScheduleError(DomainError):
    """Bad schedule input (422), or the base of the refusals below."""


class ScheduleNotFound(ScheduleError):
    status_code = 404

    def __init__(self, schedule_id: str) -> None:
        super().__init__("id", f"no schedule {schedule_id!r}")
        self.schedule_id = schedule_id


class ScheduleNameTaken(ScheduleError):
    """Another schedule already has this name (names are unique)."""

    status_code = 409

    def __init__(self, name: str | None) -> None:
        super().__init__("name", "another schedule already has this name")
        self.name = name


class SchedulesUnavailable(ScheduleError):
    """Redis, where beat reads the schedules, did not answer: the change was not stored."""

    status_code = 503

    def __init__(self, cause: Exception) -> None:
        super().__init__("broker", f"Redis is unavailable, the schedule was not changed ({cause})")
        self.cause = cause
