"""Maintenance inside every worker: a thread, not a task, so it never waits for a pool slot.

Each worker process (its main process; started at worker_ready, stopped at worker_shutdown by
app/worker/signals.py) runs the JOBS below on their intervals. Before a run a job takes its own
Redis lock (redis-py `Lock`, `names.loop_lock(name)`) for one interval and keeps it: whichever
worker gets it first runs the job for this tick, the others skip it, and a dead holder's lock
expires with the tick. So the fleet runs each job about once per interval, with no beat at all
and whatever the queues hold. Beat's tasks (app/worker/celery.py) stay as a second line.

Adding a job is one line in JOBS: a name, an interval in seconds and a function to call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from app.batches.scheduling import feeder, recovery
from app.core import names
from app.core.redis import get_redis

log = logging.getLogger(__name__)

TICK = 0.25  # how often the thread looks at the clock (and notices stop())


@dataclass(frozen=True)
class Job:
    name: str
    interval: float
    run: Callable[[], object]


JOBS: tuple[Job, ...] = (
    # Dead workers' items back at once, leases, and messages Redis lost
    # (app/batches/scheduling/recovery.py).
    Job("recover", 2.0, recovery.reap),
    # The metered dispatcher's timer (app/batches/scheduling/feeder.py): retries that came due,
    # batches
    # that arrived while no process fed, slots freed by a worker that died. Items ending feed
    # at once; this is the floor.
    Job("feed", 1.0, feeder.feed),
)


class MaintenanceLoop:
    """A daemon thread running `jobs`, each at most once per interval across all workers."""

    def __init__(self, jobs: Sequence[Job] = JOBS, client: redis.Redis | None = None) -> None:
        self.jobs = tuple(jobs)
        self.client = client or get_redis()
        self._due = {job.name: 0.0 for job in self.jobs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-maintenance", daemon=True)

    def start(self) -> MaintenanceLoop:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            for job in self.jobs:
                if self._stop.is_set():
                    return
                now = time.monotonic()
                if now >= self._due[job.name]:
                    self._due[job.name] = now + job.interval
                    self.run_once(job)
            self._stop.wait(TICK)

    def run_once(self, job: Job) -> bool:
        """Run `job` if no worker ran it this tick; True when this worker did."""
        # The lock outlives the run on purpose (never released): it marks the tick as taken.
        # A little under the interval, so the next tick's first asker finds it free.
        lock = self.client.lock(names.loop_lock(job.name), timeout=job.interval * 0.9)
        try:
            if not lock.acquire(blocking=False):
                return False
        except redis.RedisError as exc:
            log.warning("maintenance %s: cannot take its lock: %s", job.name, exc)
            return False
        try:
            job.run()
        except Exception:  # the next tick tries again; the thread must live on
            log.exception("maintenance %s failed", job.name)
        return True


_loop: MaintenanceLoop | None = None


def start() -> None:
    global _loop
    if _loop is None:
        _loop = MaintenanceLoop().start()
        log.info("maintenance loop started: %s",
                 ", ".join(f"{job.name} every {job.interval:g} s" for job in JOBS))


def stop() -> None:
    global _loop
    if _loop is not None:
        _loop.stop()
        _loop = None
