"""Failed logins slowed and counted: per name and client address, in Redis (shared by every
API process).

FREE_FAILURES wrong passwords in a row pass; each one after them locks that name from that
address for twice as long as the last (30 s, 60 s, ... up to 15 min): a guesser gets a few
hundred tries a day instead of thousands a second, and a user who mistyped waits seconds.
A success clears the count. Another address, or another name, is not held up.
"""

from __future__ import annotations

import hashlib
import math

from prometheus_client import Counter

from app.accounts.errors import LoginThrottled
from app.core import names, prometheus  # noqa: F401  (prometheus: multiprocess values first)
from app.core.redis import get_redis

FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 900
# A count with no failure for this long starts over.
FAILURE_MEMORY_SECONDS = 3600

LOGIN_FAILURES = Counter(
    "trustagency_login_failures",
    "Refused logins: wrong name or password (`wrong`), or refused while locked (`locked`).",
    ["reason"],
)


def _subject(name: str, address: str | None) -> str:
    return hashlib.sha256(f"{name.strip().lower()}\0{address or ''}".encode()).hexdigest()[:32]


def check(name: str, address: str | None) -> None:
    """Raise LoginThrottled while this name is locked for this address."""
    ttl_ms = get_redis().pttl(names.login_lock_key(_subject(name, address)))
    if isinstance(ttl_ms, int) and ttl_ms > 0:
        LOGIN_FAILURES.labels("locked").inc()
        raise LoginThrottled(math.ceil(ttl_ms / 1000))


def failed(name: str, address: str | None) -> None:
    LOGIN_FAILURES.labels("wrong").inc()
    subject = _subject(name, address)
    redis = get_redis()
    key = names.login_failures_key(subject)
    count = int(redis.incr(key))  # type: ignore[arg-type]
    redis.expire(key, FAILURE_MEMORY_SECONDS)
    if count >= FREE_FAILURES:
        seconds = min(FIRST_LOCK_SECONDS * 2 ** (count - FREE_FAILURES), MAX_LOCK_SECONDS)
        redis.set(names.login_lock_key(subject), "1", ex=seconds)


def succeeded(name: str, address: str | None) -> None:
    get_redis().delete(names.login_failures_key(_subject(name, address)))
