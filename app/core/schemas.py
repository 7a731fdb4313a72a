"""What every response model shares: UTC times as `...Z`, bounded pagination and ids, and the
one error shape every 4xx/5xx answer has."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_serializer

from app.core.logs import mask_secrets

# Bounds on every list endpoint: an offset past any real table, not past a 64-bit integer.
MAX_OFFSET = 1_000_000_000
# Integer ids are INTEGER columns (32-bit on PostgreSQL): no row has a larger one, and a larger
# number would overflow the driver (SQLite refuses anything past 2**63 with an OverflowError).
MAX_INT_ID = 2**31 - 1
# String ids are 32 hex characters: a longer one, or one with other characters, cannot exist
# (answered 422, not looked up; PostgreSQL would refuse a NUL in it with a server error).
MAX_STR_ID_LENGTH = 64
STR_ID_PATTERN = "^[A-Za-z0-9_-]+$"


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value


# A whole number as JSON sends it: an int, or a float such as 3.0 (JSON Schema calls it an
# integer; the domain refuses 3.5 naming the field); never a bool, a numeric string or null.
# One check rather than StrictInt | StrictFloat, whose two failures named "min_words.int" and
# "min_words.float" instead of the field.
WholeNumber = Annotated[int | float, BeforeValidator(_json_number)]


# An error or reason as answered: secrets masked as the logs mask them, whatever was stored
# (rows written before errors were scrubbed at write time too).
Scrubbed = Annotated[str, AfterValidator(mask_secrets)]


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


class ErrorItem(BaseModel):
    field: str = Field(description="The field at fault: `titles[3]`, `category`, `offset`, "
                       "`body`, `authorization`, `task_id`, ...")
    message: str = Field(description="What is wrong with it")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx answer of the API (app.main's handlers)."""

    detail: str = Field(description='Every error as "field: message", joined by "; "')
    errors: list[ErrorItem] = Field(min_length=1)


def offset_query() -> Any:
    return Query(0, ge=0, le=MAX_OFFSET, description=f"Rows to skip (0-{MAX_OFFSET})")


def limit_query(default: int, maximum: int) -> Any:
    return Query(default, ge=1, le=maximum, description=f"Rows per page (1-{maximum})")



# Free text kept as written (notes, feedback, Markdown): no control characters but tab and
# line breaks, as app.articles.service refuses them.
TEXT_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$"
# A BCP 47 tag (app/llm/language.py; `_` is taken for `-`), `auto`, or blank (the default).
LANGUAGE_PATTERN = "^ *(?:[Aa][Uu][Tt][Oo]|[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)? *$"
