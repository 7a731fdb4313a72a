"""One Redis client per process for locks, cancel flags, rate limits and progress events."""

from __future__ import annotations

from functools import lru_cache

import redis

from app.config import get_settings


@lru_cache
def get_redis() -> redis.Redis:
    # redis-py's pool notices a fork and reconnects in the child, so caching is safe.
    return redis.Redis.from_url(
        get_settings().redis_url,
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
    )


def broker_client(timeout: float = 5) -> redis.Redis:
    """A short-lived client of the broker's Redis (queue depths, pings); close it after use."""
    return redis.Redis.from_url(
        get_settings().celery_broker_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
