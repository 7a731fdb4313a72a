"""Secrets made and checked: personal tokens, session cookies (SHA-256) and passwords (argon2id).

A token is `ta_<8 hex>_<43 random characters>`: the first 11 characters are its visible prefix
(lists, the audit trail), the rest 256 random bits. Tokens and cookies are looked up by the
SHA-256 of the whole value: nobody can guess 2^256 values however fast the hash, and a fast
hash keeps every request's lookup cheap. Passwords are chosen by people and guessable, so they
get argon2id, slow and memory-hard on purpose.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "ta_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
TOKEN_MAX_LENGTH = 100

_hasher = PasswordHasher()  # argon2id with argon2-cffi's recommended (RFC 9106) parameters
# Verified against when the name is unknown, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class NewToken:
    value: str
    """Shown once, to whoever created it; never stored."""
    prefix: str
    digest: str


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> NewToken:
    value = f"{TOKEN_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    return NewToken(value=value, prefix=value[:PREFIX_LENGTH], digest=digest(value))


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and len(value) <= TOKEN_MAX_LENGTH


def new_session_value() -> str:
    return secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """Constant work whether or not the user has a password (or exists: pass None)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def random_password() -> str:
    """The first admin's one-time password (make run prints it)."""
    return secrets.token_urlsafe(15)
