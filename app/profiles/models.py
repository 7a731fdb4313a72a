"""A category's profile: how its articles are written and checked. Versioned, so an article
can be traced to the profile (and prompt) that wrote it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, utcnow


class CategoryProfile(Base):
    __tablename__ = "category_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(64), unique=True)
    instructions: Mapped[str] = mapped_column(Text)
    # Target length: words for space-separated languages, characters for Chinese/Japanese/Korean.
    min_words: Mapped[int] = mapped_column(Integer)
    max_words: Mapped[int] = mapped_column(Integer)
    min_chars: Mapped[int] = mapped_column(Integer)
    max_chars: Mapped[int] = mapped_column(Integer)
    min_sections: Mapped[int] = mapped_column(Integer)
    duplicate_threshold: Mapped[float] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(128))
    temperature: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
