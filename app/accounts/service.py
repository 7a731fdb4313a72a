"""Users, tokens and login sessions: the rules. Never commits (the request's unit of work does).

Who a request acts as is decided per request from the database (`find_token`,
`find_session`): a revoked token, an ended session or a disabled user is refused on
the very next request, with no cache to wait out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app.accounts import credentials, repository
from app.accounts.errors import (
    AccountError,
    LoginFailed,
    TokenNotFound,
    UserNameTaken,
    UserNotFound,
)
from app.accounts.models import (
    DISPLAY_NAME_MAX,
    TOKEN_NAME_MAX,
    ApiToken,
    LoginSession,
    User,
)
from app.accounts.permissions import Role
from app.accounts.principal import Principal
from app.core.models import utcnow
from app.core.secrets_policy import weakness
from app.core.text import has_surrogate

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
PASSWORD_MIN = 12
PASSWORD_MAX = 256
TOKEN_DAYS_MAX = 3650
SESSION_LIFETIME = timedelta(days=7)
SCOPES = frozenset({"ops"})
# The built-in names: API_TOKEN's service account and the opt-in anonymous admin.
RESERVED_NAMES = frozenset({"api-token", "anonymous"})


def clean_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise AccountError.invalid("name", "2-64 letters, digits, '.', '_' or '-', starting with "
                                   "a letter or digit")
    if name.lower() in RESERVED_NAMES:
        raise AccountError.invalid("name", f"{name!r} is reserved")
    return name


def clean_display_name(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > DISPLAY_NAME_MAX or has_surrogate(text) or "\n" in text:
        raise AccountError.invalid("display_name",
                                   f"one line of at most {DISPLAY_NAME_MAX} characters")
    return text or None


def check_password(password: str, name: str) -> str:
    if len(password) > PASSWORD_MAX:
        raise AccountError.invalid("password", f"at most {PASSWORD_MAX} characters")
    reason = weakness(password, PASSWORD_MIN)
    if reason is None and name.lower() in password.lower():
        reason = "must not contain the user's name"
    if reason is not None:
        raise AccountError.invalid("password", reason)
    return password


def create_user(session: Session, name: str, role: Role, *, display_name: str | None = None,
                password: str | None = None) -> User:
    name = clean_name(name)
    if repository.user_by_name(session, name) is not None:
        raise UserNameTaken(name)
    now = utcnow()
    user = User(name=name, name_key=name.lower(), role=str(Role(role)),
                display_name=clean_display_name(display_name), disabled=False,
                password_hash=credentials.hash_password(check_password(password, name))
                if password is not None else None, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str, field: str = "name") -> User:
    user = repository.user_by_name(session, name)
    if user is None:
        raise UserNotFound(name, field)
    return user


@dataclass(frozen=True)
class UserChanges:
    """Fields of a PATCH; None leaves it as it is (display_name: "" clears it)."""
    role: Role | None = None
    display_name: str | None = None
    disabled: bool | None = None
    password: str | None = None


def update_user(session: Session, name: str, changes: UserChanges) -> User:
    """Disabling, or setting a new password, ends the user's sessions at once; disabling also
    revokes their tokens."""
    user = get_user(session, name)
    now = utcnow()
    if changes.role is not None:
        user.role = str(Role(changes.role))
    if changes.display_name is not None:
        user.display_name = clean_display_name(changes.display_name)
    if changes.password is not None:
        user.password_hash = credentials.hash_password(check_password(changes.password, user.name))
        repository.revoke_sessions_of(session, user.id, now)
    if changes.disabled is not None:
        user.disabled = changes.disabled
        if changes.disabled:
            repository.revoke_everything_of(session, user.id, now)
    user.updated_at = now
    session.flush()
    return user


def principal_of_user(user: User, via: str, token: ApiToken | None = None) -> Principal:
    return Principal(name=user.name, role=Role(user.role), user_id=user.id, via=via,
                     token_prefix=token.prefix if token else None,
                     scopes=frozenset(token.scopes.split()) if token else frozenset())


# --- login sessions --------------------------------------------------------------------------

def authenticate(session: Session, name: str, password: str) -> User:
    """The enabled user with this name and password, or LoginFailed (the same for all causes)."""
    user = repository.user_by_name(session, name)
    ok = credentials.password_matches(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise LoginFailed()
    return user


def open_session(session: Session, user: User, *, client_address: str | None,
                 user_agent: str | None) -> str:
    """A new login session; returns the cookie's value (stored only as its digest)."""
    value = credentials.new_session_value()
    now = utcnow()
    session.add(LoginSession(token_hash=credentials.digest(value), user_id=user.id,
                             created_at=now, expires_at=now + SESSION_LIFETIME, last_seen_at=now,
                             client_address=(client_address or "")[:64] or None,
                             user_agent=(user_agent or "")[:300] or None))
    session.flush()
    return value


def close_session(session: Session, cookie_value: str) -> None:
    repository.revoke_session(session, credentials.digest(cookie_value), utcnow())


@dataclass(frozen=True)
class Found:
    """Who a credential names, and the row to mark used when its mark is stale (written in a
    short write transaction of its own, at most once a minute: reads never take the writer)."""
    principal: Principal
    stale_token_id: int | None = None
    stale_session_id: int | None = None


def _stale(last: datetime | None, now: datetime) -> bool:
    return last is None or _aware(last) < now - repository.TOUCH_INTERVAL


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # SQLite gives naive


def find_session(session: Session, cookie_value: str) -> Found | None:
    now = utcnow()
    found = repository.session_and_user(session, credentials.digest(cookie_value), now)
    if found is None:
        return None
    login, user = found
    return Found(principal_of_user(user, "session"),
                 stale_session_id=login.id if _stale(login.last_seen_at, now) else None)


def mark_used(session: Session, found: Found) -> None:
    now = utcnow()
    if found.stale_token_id is not None:
        repository.touch_token(session, found.stale_token_id, now)
    if found.stale_session_id is not None:
        repository.touch_session(session, found.stale_session_id, now)


# --- personal tokens ---------------------------------------------------------------------------

def clean_scopes(scopes: list[str]) -> str:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise AccountError.invalid("scopes", f"unknown {unknown}; known: {sorted(SCOPES)}")
    return " ".join(sorted(set(scopes)))


def create_token(session: Session, user: User, name: str, *, scopes: list[str],
                 expires_in_days: int | None) -> tuple[ApiToken, str]:
    """A new token of `user`; returns the row and the token (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_MAX or has_surrogate(name):
        raise AccountError.invalid("name", f"1-{TOKEN_NAME_MAX} characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_DAYS_MAX:
        raise AccountError.invalid("expires_in_days", f"1 to {TOKEN_DAYS_MAX}")
    made = credentials.new_token()
    now = utcnow()
    row = ApiToken(user_id=user.id, prefix=made.prefix, token_hash=made.digest, name=name,
                   scopes=clean_scopes(scopes), created_at=now,
                   expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    session.add(row)
    session.flush()
    return row, made.value


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(repository.tokens_of(session, user.id))


def token_of(session: Session, user: User, token_id: int) -> ApiToken:
    token = repository.token_of(session, user.id, token_id)
    if token is None:
        raise TokenNotFound(token_id)
    return token


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    token = token_of(session, user, token_id)
    repository.revoke_token(session, token.id, utcnow())
    session.refresh(token)
    return token


def find_token(session: Session, value: str) -> Found | None:
    if not credentials.looks_like_token(value):
        return None
    now = utcnow()
    found = repository.token_and_user(session, credentials.digest(value), now)
    if found is None:
        return None
    token, user = found
    return Found(principal_of_user(user, "token", token),
                 stale_token_id=token.id if _stale(token.last_used_at, now) else None)


def is_live(token: ApiToken, now: datetime) -> bool:
    expires = token.expires_at
    return token.revoked_at is None and (expires is None or _aware(expires) > now)


def list_users(session: Session, *, limit: int, offset: int) -> tuple[list[User], int]:
    rows, total = repository.list_users(session, limit=limit, offset=offset)
    return list(rows), total


def owner_for(session: Session, who: Principal, requested: str | None) -> str | None:
    """The owner of what `who` submits: themselves; an admin may name another existing user.

    Anonymous requests (API_ALLOW_UNAUTHENTICATED=true, no accounts in use) keep the free-text
    `owner` they send, as before accounts existed."""
    wanted = (requested or "").strip()
    if who.via == "anonymous":
        return wanted or None
    if not wanted or wanted.lower() == who.name.lower():
        return who.name
    if not who.is_admin:
        raise AccountError("owner", f"only an admin may act on behalf of another user; "
                           f"leave it out to act as {who.name}", status_code=403)
    user = repository.user_by_name(session, wanted)
    if user is None:
        raise AccountError.invalid("owner", f"no user named {wanted!r}")
    return user.name


FIRST_ADMIN = "admin"


def ensure_first_admin(session: Session) -> str | None:
    """On an empty users table, the admin `admin` with a random password, returned to be shown
    once (`make run` prints it); None when any user exists."""
    if repository.count_users(session) > 0:
        return None
    password = credentials.random_password()
    create_user(session, FIRST_ADMIN, Role.ADMIN, password=password)
    return password
