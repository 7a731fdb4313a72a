"""The audit trail's one table: appended by app.audit.middleware, read by the endpoints.

No route updates or deletes a row; the API has no way to edit the trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, utcnow

ACTOR_MAX = 100
ACTION_MAX = 100
OBJECT_TYPE_MAX = 40
OBJECT_ID_MAX = 100
PATH_MAX = 300
USER_AGENT_MAX = 300


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    """The user name; "anonymous", or the name tried when authentication failed."""
    user_id: Mapped[int | None] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(16))
    """token, session, api_token or anonymous (app.accounts.principal.Principal.via)."""
    token_prefix: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(ACTION_MAX))
    """The route's name: approve_article, submit_batch, ..."""
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(PATH_MAX))
    """The route's template (/api/articles/{article_id}/approve), or the raw path unmatched."""
    object_type: Mapped[str | None] = mapped_column(String(OBJECT_TYPE_MAX))
    object_id: Mapped[str | None] = mapped_column(String(OBJECT_ID_MAX))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Field names sent, short non-secret values, the version before (If-Match) and after
    (ETag). Never a password or token."""
    status: Mapped[int] = mapped_column(SmallInteger)
    client: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor", "id"),
        Index("ix_audit_log_object", "object_type", "object_id", "id"),
        Index("ix_audit_log_action", "action", "id"),
    )
