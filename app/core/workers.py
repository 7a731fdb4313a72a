"""Which workers are alive and how many slots each has: a heartbeat key per worker in Redis.

Every worker process (its main process, not each prefork child) refreshes its key every
HEARTBEAT_SECONDS with a TTL of HEARTBEAT_TTL; a key that is gone means the worker is gone
(killed, crashed, cut off). Readers: the fair dispatcher (free slots) and recovery (items whose
worker is gone are taken back without waiting for their lease).

Celery's own `control.ping`/`inspect` answer the same question but need a broadcast and a
timeout per call; a key read is one round trip, so it can run every second.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass

import redis

from app.core import epoch, names

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TTL = 6  # seconds: three missed beats


@dataclass(frozen=True)
class WorkerInfo:
    hostname: str
    concurrency: int
    pool: str
    pid: int
    started: float


def beat(client: redis.Redis, info: WorkerInfo) -> None:
    client.set(names.worker_key(info.hostname), json.dumps(asdict(info)), ex=HEARTBEAT_TTL)


def forget(client: redis.Redis, hostname: str) -> None:
    """A worker shutting down warmly says so, so nobody waits for its key to expire."""
    client.delete(names.worker_key(hostname))


def alive(client: redis.Redis) -> dict[str, WorkerInfo]:
    """Every worker whose heartbeat key exists, by hostname."""
    keys = list(client.scan_iter(match=names.worker_key("*"), count=500))
    if not keys:
        return {}
    workers = {}
    for raw in client.mget(keys):
        if raw is None:
            continue
        try:
            info = WorkerInfo(**json.loads(raw))
        except (TypeError, ValueError):
            continue
        workers[info.hostname] = info
    return workers


def alive_settled(client: redis.Redis) -> dict[str, WorkerInfo] | None:
    """Every live worker, or None while the registry is too young to call a missing key a dead
    worker: its Redis just came back empty (or is new) and live workers have not all written
    their keys again yet (they do every HEARTBEAT_SECONDS)."""
    if epoch.age(client, names.REGISTRY_EPOCH_KEY) < HEARTBEAT_TTL:
        return None
    return alive(client)


def hostname_of(claim: str | None) -> str | None:
    """The worker hostname in an item's claim token (`hostname/token`)."""
    if not claim:
        return None
    return claim.rsplit("/", 1)[0]


class Heartbeat:
    """A daemon thread that keeps this worker's key alive until `stop()`."""

    def __init__(self, client: redis.Redis, info: WorkerInfo) -> None:
        self.client = client
        self.info = info
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(redis.RedisError):
            forget(self.client, self.info.hostname)

    def _beat(self) -> None:
        try:
            beat(self.client, self.info)
        except redis.RedisError as exc:  # Redis away: recovery elsewhere waits for it too
            log.warning("worker heartbeat: %s", exc)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._beat()


def started_now(hostname: str, concurrency: int, pool: str, pid: int) -> WorkerInfo:
    return WorkerInfo(hostname=hostname, concurrency=concurrency, pool=pool, pid=pid,
                      started=time.time())
