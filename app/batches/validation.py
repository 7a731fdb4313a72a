"""Checks on what an editor submits; run once, here, for the API, schedules and the plan's
`delay()` call alike. Each refusal names the field at fault."""

from __future__ import annotations

import hashlib
import json
import math
import re

from app.batches.enums import BatchMode, Priority
from app.batches.errors import BatchError
from app.config import get_settings

CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CATEGORY_PATTERN = CATEGORY_RE.pattern


def clean_titles(titles: object, field: str = "titles") -> list[str]:
    settings = get_settings()
    if not isinstance(titles, list) or not titles:
        raise BatchError.invalid(field, "at least one title is required")
    if len(titles) > settings.max_titles_per_batch:
        raise BatchError.invalid(
            field, f"at most {settings.max_titles_per_batch} titles per batch, got {len(titles)}"
        )
    cleaned = []
    for i, title in enumerate(titles):
        name = f"{field}[{i}]"
        if not isinstance(title, str):
            raise BatchError.invalid(name, "must be a string")
        title = " ".join(title.split())
        if not title:
            raise BatchError.invalid(name, "must not be blank")
        if len(title) > settings.max_title_length:
            raise BatchError.invalid(
                name, f"at most {settings.max_title_length} characters, got {len(title)}"
            )
        if any(ord(c) < 32 for c in title):
            raise BatchError.invalid(name, "must not contain control characters")
        cleaned.append(title)
    return cleaned


def clean_category(category: object) -> str:
    value = category.strip().lower() if isinstance(category, str) else ""
    if not CATEGORY_RE.match(value):
        raise BatchError.invalid(
            "category",
            "must be a short slug: 1-64 characters of a-z, 0-9, '-' or '_', starting with a "
            "letter or digit",
        )
    return value


MAX_COST_USD = 1_000_000.0  # a typo guard, not a policy: caps above this are refused


def clean_mode(mode: object) -> BatchMode:
    """realtime (the default) or batch (the provider's Batch API)."""
    if mode is None:
        return BatchMode.REALTIME
    value = mode.strip().lower() if isinstance(mode, str) else ""
    if value not in set(BatchMode):
        raise BatchError.invalid("mode", f"must be one of {', '.join(BatchMode)}, got {mode!r}")
    return BatchMode(value)


def clean_max_cost(value: object, field: str = "max_cost_usd") -> float | None:
    """A batch's own spend cap in USD: None (no cap) or a positive number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BatchError.invalid(field, "must be a number of US dollars, or null for no cap")
    if not math.isfinite(value) or value <= 0 or value > MAX_COST_USD:
        raise BatchError.invalid(field, f"must be above 0 and at most {MAX_COST_USD:,.0f}, "
                                 f"got {value}")
    return float(value)


def clean_priority(priority: object) -> Priority:
    value = priority.strip().lower() if isinstance(priority, str) else ""
    if value not in set(Priority):
        raise BatchError.invalid("priority",
                                 f"must be one of {', '.join(Priority)}, got {priority!r}")
    return Priority(value)


def fingerprint(titles: list[str], category: str) -> str:
    """What an Idempotency-Key promises: the same titles in the same category."""
    return hashlib.sha256(json.dumps([titles, category]).encode()).hexdigest()
