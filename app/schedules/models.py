"""A batch submitted on a cron schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, new_id, utcnow


class Schedule(Base):
    """A batch submitted on a cron schedule (UTC). Mirrored into a RedBeat entry for beat.

    Each run creates an ordinary batch whose `extra["schedule_id"]` points back here.
    """

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    cron: Mapped[str] = mapped_column(String(100))
    titles: Mapped[list] = mapped_column(JSON)
    category: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_batch_id: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Passed to each batch it makes (None: the batch's defaults).
    language: Mapped[str | None] = mapped_column(String(35))
    priority: Mapped[str | None] = mapped_column(String(8))
    owner: Mapped[str | None] = mapped_column(String(100))
    mode: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
