"""Progress events and cancel flags in Redis. Best effort: the database stays the truth."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis

from app.redis_client import get_redis

log = logging.getLogger(__name__)

CANCEL_TTL = 7 * 24 * 3600


def channel(batch_id: str) -> str:
    return f"ta:events:{batch_id}"


def cancel_key(batch_id: str) -> str:
    return f"ta:cancel:{batch_id}"


def publish(batch_id: str, event: dict[str, Any]) -> None:
    try:
        get_redis().publish(channel(batch_id), json.dumps(event, default=str))
    except redis.RedisError as exc:
        log.warning("could not publish progress event for batch %s: %s", batch_id, exc)


def flag_cancel(batch_id: str) -> None:
    try:
        get_redis().set(cancel_key(batch_id), "1", ex=CANCEL_TTL)
    except redis.RedisError as exc:
        # Workers also see the cancel through the database on their next heartbeat.
        log.warning("could not set the cancel flag of batch %s: %s", batch_id, exc)


# Answers shared by every item of a batch running in this process (threads pool: up to
# --concurrency of them), so a process asks Redis about a batch at most every CANCEL_MAX_AGE s
# instead of each stream every checkpoint. A cancel still stops streams within a second.
CANCEL_MAX_AGE = 0.5
_seen: dict[str, tuple[float, bool]] = {}


_asking = threading.Lock()


def cancel_flagged(batch_id: str) -> bool:
    now = time.monotonic()
    cached = _seen.get(batch_id)
    if cached is not None and (cached[1] or now - cached[0] < CANCEL_MAX_AGE):
        return cached[1]
    # One thread asks; the others keep the answer they have rather than asking too.
    if cached is not None and not _asking.acquire(blocking=False):
        return cached[1]
    if cached is None:
        _asking.acquire()
    try:
        flagged = bool(get_redis().exists(cancel_key(batch_id)))
    except redis.RedisError:
        return False
    finally:
        _asking.release()
    if len(_seen) > 1000:  # forget batches not asked about for a while
        for key, (when, _) in list(_seen.items()):
            if now - when > 60:
                _seen.pop(key, None)
    _seen[batch_id] = (time.monotonic(), flagged)
    return flagged
