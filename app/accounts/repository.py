"""All of the accounts domain's SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.accounts.models import ApiToken, LoginSession, User

# last_used_at and last_seen_at are written at most this often per token or session: a write
# per request would put every read of the API behind the database's writer.
TOUCH_INTERVAL = timedelta(minutes=1)


def user_by_name(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name_key == name.strip().lower()))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session, *, limit: int, offset: int) -> tuple[Sequence[User], int]:
    rows = session.scalars(select(User).order_by(User.name_key).limit(limit).offset(offset)).all()
    return rows, session.scalar(select(func.count()).select_from(User)) or 0


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def token_and_user(session: Session, token_hash: str, now: datetime
                   ) -> tuple[ApiToken, User] | None:
    """A live token and its enabled user, or None."""
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(
            ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            User.disabled.is_(False))
    ).first()
    return (row[0], row[1]) if row else None


def session_and_user(session: Session, token_hash: str, now: datetime
                     ) -> tuple[LoginSession, User] | None:
    row = session.execute(
        select(LoginSession, User).join(User, User.id == LoginSession.user_id).where(
            LoginSession.token_hash == token_hash, LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now, User.disabled.is_(False))
    ).first()
    return (row[0], row[1]) if row else None


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    """last_used_at = now, unless it was written less than TOUCH_INTERVAL ago."""
    session.execute(update(ApiToken).where(
        ApiToken.id == token_id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_INTERVAL),
    ).values(last_used_at=now))


def touch_session(session: Session, session_id: int, now: datetime) -> None:
    session.execute(update(LoginSession).where(
        LoginSession.id == session_id, LoginSession.last_seen_at < now - TOUCH_INTERVAL,
    ).values(last_seen_at=now))


def tokens_of(session: Session, user_id: int) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                           .order_by(ApiToken.id.desc())).all()


def token_of(session: Session, user_id: int, token_id: int) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                                 ApiToken.user_id == user_id))


def revoke_token(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id,
                                           ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def revoke_session(session: Session, token_hash: str, now: datetime) -> None:
    session.execute(update(LoginSession).where(LoginSession.token_hash == token_hash,
                                               LoginSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def revoke_everything_of(session: Session, user_id: int, now: datetime) -> None:
    """Every live session and token of the user (disabled)."""
    revoke_sessions_of(session, user_id, now)
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id,
                                           ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def revoke_sessions_of(session: Session, user_id: int, now: datetime) -> None:
    session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                               LoginSession.revoked_at.is_(None))
                    .values(revoked_at=now))
