"""RedBeat that survives a Redis restart.

Stock RedBeat extends its lock on every tick and exits when that fails: a Redis restart (lost
lock, `LockNotOwnedError`) or a Redis outage (`ConnectionError`) ends beat for good, and with it
the reaper that recovers lost work. A Redis restarted without its data also loses the static
schedule entries, which RedBeat only writes at start-up. This scheduler waits for Redis, takes
the lock again (or stands by while another beat holds it) and writes the entries back.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import redis
from redbeat import schedulers

log = logging.getLogger(__name__)

# How soon to try again while Redis is away or another beat holds the lock.
RETRY_SECONDS = 1.0


class RedBeatScheduler(schedulers.RedBeatScheduler):
    lock: Any = None

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if self.lock_key and self.lock is None:
                self._take_over()
            return float(super().tick(*args, **kwargs))
        except redis.RedisError as exc:  # includes LockError / LockNotOwnedError
            if self.lock is not None:
                log.warning("beat: lost Redis or the beat lock (%s); will take it again", exc)
            self.lock = None
            return RETRY_SECONDS

    def _take_over(self) -> None:
        # RedBeat's own start-up routine: blocks while another beat holds the lock.
        schedulers.acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=self))
        if self.lock is None:
            return
        self.setup_schedule()  # the static entries, in case Redis came back empty
        log.info("beat: lock taken again and the schedule restored")

    def close(self) -> None:
        try:
            super().close()
        except redis.RedisError as exc:  # releasing a lock Redis already forgot
            log.info("beat: could not release the lock on exit: %s", exc)
