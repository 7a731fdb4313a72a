"""Progress events and cancel flags in Redis. Best effort: the database stays the truth."""

from __future__ import annotations

import json
import logging
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


def cancel_flagged(batch_id: str) -> bool:
    try:
        return bool(get_redis().exists(cancel_key(batch_id)))
    except redis.RedisError:
        return False
