"""What every response model shares: UTC times as `...Z`, and bounded pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, field_serializer

# Bounds on every list endpoint: an offset past any real table, not past a 64-bit integer.
MAX_OFFSET = 1_000_000_000


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_serializer("*", when_used="json")
    def _times(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return as_utc(value).isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
        return value


def offset_query() -> Any:
    return Query(0, ge=0, le=MAX_OFFSET, description="Rows to skip")
