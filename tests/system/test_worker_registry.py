"""Each worker keeps a heartbeat key with its slot count; it is gone once the worker is."""

from __future__ import annotations

from app.core import workers
from app.core.redis import get_redis
from tests.support.stack import wait_for


def test_workers_register_their_slots_and_vanish_when_killed(start_worker):
    prefork = start_worker("reg1", concurrency=3)
    start_worker("reg2", pool="threads", concurrency=5)
    alive = wait_for(lambda: (w := workers.alive(get_redis())) and len(w) == 2 and w,
                     timeout=30, message="two registered workers")
    slots = sorted((info.concurrency, info.pool) for info in alive.values())
    assert slots == [(3, "prefork"), (5, "thread")]
    prefork.kill()
    wait_for(lambda: len(workers.alive(get_redis())) == 1,
             timeout=workers.HEARTBEAT_TTL + 10, message="the killed worker's key to expire")
