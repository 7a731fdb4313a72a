"""The audit API's filters and answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from app.audit.models import ACTION_MAX, ACTOR_MAX, OBJECT_ID_MAX, OBJECT_TYPE_MAX
from app.audit.repository import AuditFilter
from app.core.schemas import MAX_INT_ID, TEXT_PATTERN, OutModel, as_utc

MAX_PAGE = 500
NAME_PATTERN = r"^[A-Za-z0-9_.:-]+$"


def _iso_time(value: Any) -> Any:
    """ISO 8601 only (pydantic would also take a number of seconds), in UTC's range."""
    if not isinstance(value, str):
        return value
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 time such as 2026-12-01T08:00:00Z") from None


IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]


class AuditFilters(BaseModel):
    """Every filter given must hold."""

    user: str | None = Field(None, min_length=1, max_length=ACTOR_MAX, pattern=TEXT_PATTERN,
                             description="Who acted (a user name, `api-token`, `anonymous`)")
    action: str | None = Field(None, max_length=ACTION_MAX, pattern=NAME_PATTERN,
                               description="The route's name: `approve_article`, ...")
    object_type: str | None = Field(None, max_length=OBJECT_TYPE_MAX, pattern=NAME_PATTERN,
                                    description="`article`, `batch`, `profile`, ...")
    object_id: str | None = Field(None, min_length=1, max_length=OBJECT_ID_MAX,
                                  pattern=TEXT_PATTERN, description="The object's id")
    since: IsoTime | None = Field(None, description="At or after (ISO 8601; UTC when no offset)")
    until: IsoTime | None = Field(None, description="Before (ISO 8601)")

    def where(self) -> AuditFilter:
        return AuditFilter(actor=self.user, action=self.action, object_type=self.object_type,
                           object_id=self.object_id, since=as_utc(self.since),
                           until=as_utc(self.until))


class PageParams(BaseModel):
    before: int | None = Field(None, ge=1, le=MAX_INT_ID,
                               description="The cursor: `next_cursor` of the previous page")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"Entries per page (1-{MAX_PAGE})")


class AuditPageParams(AuditFilters, PageParams):
    pass


class AuditEntryOut(OutModel):
    id: int
    at: datetime
    actor: str
    user_id: int | None
    via: str
    token_prefix: str | None
    action: str
    method: str
    path: str
    object_type: str | None
    object_id: str | None
    changes: dict[str, Any]
    status: int
    client: str | None
    user_agent: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: int | None = Field(description="`before` for the next (older) page; null on "
                                    "the last")


CSV_COLUMNS = ("id", "at", "actor", "user_id", "via", "token_prefix", "action", "method",
               "path", "object_type", "object_id", "status", "client", "user_agent", "changes")
