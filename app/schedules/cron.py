"""Cron expressions as beat runs them (UTC): parsing with errors that name the bad field."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery.schedules import crontab

from app.core.models import utcnow
from app.schedules.errors import ScheduleError
from app.schedules.models import Schedule

FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def parse_cron(expression: str) -> crontab:
    """A standard 5-field cron expression (UTC) or a macro such as @daily, as beat runs it."""
    text = " ".join(str(expression or "").split())
    fields = MACROS.get(text.lower(), text).split()
    if len(fields) != 5:
        raise ScheduleError.invalid(
            "cron",
            f"needs 5 fields (minute hour day-of-month month day-of-week) or a macro such as "
            f"@daily, got {len(fields)} field(s) in {text!r}",
        )
    spec = dict(zip(FIELDS, fields, strict=True))
    for field, value in spec.items():  # name the field at fault
        try:
            crontab(**{field: value})
        except Exception as exc:
            label = field.replace("_", "-")
            raise ScheduleError.invalid(
                "cron", f"{label} field {value!r} is not valid: {exc}"
            ) from None
    try:
        return crontab(**spec)
    except Exception as exc:  # e.g. 31 February
        raise ScheduleError.invalid("cron", f"{text!r} is not valid: {exc}") from None


def clean_cron(expression: str) -> str:
    parse_cron(expression)
    return " ".join(str(expression).split())


def clean_name(name: str) -> str:
    value = " ".join(str(name or "").split())
    if not value:
        raise ScheduleError.invalid("name", "must not be blank")
    if len(value) > 100:
        raise ScheduleError.invalid("name", f"at most 100 characters, got {len(value)}")
    return value


def next_run(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    if not schedule.enabled:
        return None
    now = now or utcnow()
    due = now + parse_cron(schedule.cron).remaining_estimate(now)
    # Celery's estimate lands a few microseconds short of the minute.
    return (due + timedelta(milliseconds=500)).replace(microsecond=0)
