"""Did this Redis lose its data? A key written once, never expiring, tells.

A Redis restarted without persistence (or flushed, or failed over to an empty replica) comes
back with no keys at all; nothing else says so. An epoch key that is gone means everything
that was in that Redis is gone too: queued messages (the broker's) or heartbeat keys (the
worker registry's). Readers: app.batches.scheduling.recovery and app.core.workers.
"""

from __future__ import annotations

import redis

# Seconds since the key was written, on Redis's own clock (the machines' clocks need not agree);
# -1 when it was missing and this call wrote it.
_AGE = """
local now = tonumber(redis.call('TIME')[1])
local born = redis.call('GET', KEYS[1])
if not born then
  redis.call('SET', KEYS[1], now)
  return -1
end
return now - tonumber(born)
"""

MISSING = -1


def age(client: redis.Redis, key: str) -> int:
    """How old this Redis's epoch is in seconds, or MISSING when it had none (its data was lost,
    or this is its first use) and now has one. Raises redis.RedisError when Redis is away."""
    return int(client.eval(_AGE, 1, key))  # type: ignore[arg-type]
