"""Cron expressions as beat runs them (UTC): parsing with errors that name the bad field."""

from __future__ import annotations

import re
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


def _any_case(word: str) -> str:
    """A regex for `word` in any case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in word)


# The cron language the API accepts, stated as the OpenAPI schema's pattern and checked here
# field by field (so the error names the field): Celery's crontab parser takes more (any
# `/step`, whole day names...), this is the documented subset.
STEP = "[1-9][0-9]?"
VALUES = {
    "minute": "[0-5]?[0-9]",
    "hour": "[01]?[0-9]|2[0-3]",
    "day_of_month": "0?[1-9]|[12][0-9]|3[01]",
    "month_of_year": "0?[1-9]|1[0-2]|" + "|".join(_any_case(m) for m in (
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    "day_of_week": "[0-6]|" + "|".join(_any_case(d) for d in (
        "sun", "mon", "tue", "wed", "thu", "fri", "sat")),
}


def _field_pattern(values: str) -> str:
    value = f"(?:{values})"
    item = f"(?:\\*(?:/{STEP})?|{value}(?:-{value}(?:/{STEP})?)?)"
    return f"{item}(?:,{item})*"


FIELD_PATTERNS = {field: _field_pattern(values) for field, values in VALUES.items()}
MACRO_PATTERN = "@(?:" + "|".join(_any_case(m[1:]) for m in MACROS) + ")"
CRON_PATTERN = (
    "^ *(?:" + MACRO_PATTERN + "|" + " +".join(f"(?:{FIELD_PATTERNS[f]})" for f in FIELDS)
    + ") *$"
)
CRON_MAX_LENGTH = 100
_FIELD_RES = {field: re.compile(pattern) for field, pattern in FIELD_PATTERNS.items()}
_CRON_RE = re.compile(CRON_PATTERN)


def check_cron(expression: object) -> str:
    """An expression the API accepts (CRON_PATTERN, then Celery's own checks), folded to
    single spaces; ScheduleError naming what is wrong otherwise."""
    text = expression if isinstance(expression, str) else ""
    if len(text) > CRON_MAX_LENGTH:
        raise ScheduleError.invalid(
            "cron", f"at most {CRON_MAX_LENGTH} characters, got {len(text)}")
    if not _CRON_RE.fullmatch(text):
        fields = [part for part in text.split(" ") if part]
        if text.strip(" ").startswith("@"):
            raise ScheduleError.invalid(
                "cron", f"{text!r}: the macros are {', '.join(sorted(MACROS))}")
        if len(fields) != 5:
            raise ScheduleError.invalid(
                "cron",
                f"needs 5 fields (minute hour day-of-month month day-of-week) separated by "
                f"spaces, or a macro such as @daily, got {len(fields)} field(s) in {text!r}",
            )
        for field, value in zip(FIELDS, fields, strict=True):
            if not _FIELD_RES[field].fullmatch(value):
                raise ScheduleError.invalid(
                    "cron", f"{field.replace('_', '-')} field {value!r} is not valid: expected "
                    "*, a number, a range a-b, with an optional /step (1-99), or a list of "
                    "those separated by commas")
        raise ScheduleError.invalid("cron", f"{text!r} is not valid")
    parse_cron(text)
    return " ".join(text.split())


def parse_cron(expression: str) -> crontab:
    """A standard 5-field cron expression (UTC) or a macro such as @daily, as beat runs it.
    Also used on stored schedules, so it keeps Celery's wider language (check_cron is for
    new input)."""
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
    return check_cron(expression)


def next_run(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    if not schedule.enabled:
        return None
    now = now or utcnow()
    due = now + parse_cron(schedule.cron).remaining_estimate(now)
    # Celery's estimate lands a few microseconds short of the minute.
    return (due + timedelta(milliseconds=500)).replace(microsecond=0)
