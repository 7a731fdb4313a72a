"""Maintenance inside every worker: threads, not tasks, so they never wait for a pool slot.

Each worker process (its main process; started at worker_ready, stopped at worker_shutdown by
app/worker/signals.py) runs the JOBS below on their intervals, each job on a thread of its own
so a slow one (reading a provider batch's output file) never holds up the others (recovery,
the feeder's timer). Before a run a job takes its own Redis lock (redis-py `Lock`,
`names.loop_lock(name)`) for one interval and keeps it: whichever worker gets it first runs the
job for this tick, the others skip it, and a dead holder's lock expires with the tick. So the
fleet runs each job about once per interval, with no beat at all and whatever the queues hold:
beat is needed only for cron schedules (docs/architecture.md, "Beat").

Adding a job is one line in JOBS: a name, an interval in seconds and a function to call. A job
must be safe to run in two workers at once: a run that outlasts its interval may overlap the
next tick's in another worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from app.articles import publishing
from app.batches import resume
from app.batches.provider_lane import lane
from app.batches.scheduling import feeder, recovery
from app.config import get_settings
from app.core import names
from app.core.redis import get_redis
from app.publishing import delivery as publication_delivery
from app.webhooks import delivery as webhook_delivery

log = logging.getLogger(__name__)


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
    # batches that arrived while no process fed, slots freed by a worker that died. Items
    # ending feed at once; this is the floor.
    Job("feed", 1.0, feeder.feed),
    # Batches in mode "batch": each open provider batch's status, and its answers stored once
    # it ended (app/batches/provider_lane/lane.py; a worker without a Batch API skips it).
    Job("poll-provider-batches", get_settings().batch_poll_seconds, lane.poll),
    # Batches a daily or monthly cap paused, resumed once its window rolled over
    # (app/batches/resume.py).
    Job("resume-paused", resume.RESUME_INTERVAL, resume.resume_due),
    # Webhook deliveries whose retry came due, and first attempts whose message Redis lost
    # (app/webhooks/delivery.py): the database holds every pending delivery.
    Job("webhooks", webhook_delivery.REQUEUE_INTERVAL, webhook_delivery.requeue_due),
    # Scheduled publishes that came due, each by one conditional UPDATE, so a run overlapping
    # another worker's publishes an article once (app/articles/publishing.py).
    Job("publish-scheduled", publishing.PUBLISH_INTERVAL, publishing.publish_due),
    # WordPress sends whose message or worker was lost, sent again
    # (app/publishing/delivery.py).
    Job("requeue-publications", 60.0, publication_delivery.requeue_lost),
)


class MaintenanceLoop:
    """Daemon threads running `jobs`, each at most once per interval across all workers."""

    def __init__(self, jobs: Sequence[Job] = JOBS, client: redis.Redis | None = None) -> None:
        self.jobs = tuple(jobs)
        self.client = client or get_redis()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(job,), daemon=True,
                                          name=f"worker-maintenance-{job.name}")
                         for job in self.jobs]

    def start(self) -> MaintenanceLoop:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every job's thread, waiting up to `timeout` in all for the runs under way."""
        self._stop.set()
        until = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, until - time.monotonic()))

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def _run(self, job: Job) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_once(job)
            self._stop.wait(max(0.0, job.interval - (time.monotonic() - started)))

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
