"""Users, their personal API tokens and the page's login sessions.

Tokens and session cookies are stored as the SHA-256 of their value: they are 32 random bytes,
so a fast hash is as safe as a slow one (nobody can guess through 2^256 values) and lets every
request find its row by an indexed equality lookup. Passwords are people's choice, hence guessable:
they get argon2id (app/accounts/credentials.py), which is slow on purpose.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base, utcnow

NAME_MAX = 64
DISPLAY_NAME_MAX = 100
TOKEN_NAME_MAX = 100
SCOPES_MAX = 200
USER_AGENT_MAX = 300


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    """As typed at creation; what batches' owners and reviewers show."""
    name_key: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    """The name lower-cased: names are unique whatever their case (`Ann` is `ann`)."""
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    """argon2id; None for a user who signs in with tokens only."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """Shown in lists and the audit trail (`ta_ab12cd34`); not enough to use the token."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_MAX))
    scopes: Mapped[str] = mapped_column(String(SCOPES_MAX), default="")
    """Space-separated extra grants, e.g. `ops` (Prometheus' scrape token)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginSession(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the cookie's value."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_MAX))
