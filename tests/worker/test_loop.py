"""The worker maintenance loop (app/worker/loop.py) against the test Redis: each job runs once
per interval across all workers, each under its own lock; a failing job does not stop it and a
slow one does not hold up the others."""

from __future__ import annotations

import threading
import time

from app.core.redis import get_redis
from app.worker.loop import Job, MaintenanceLoop
from tests.support.stack import wait_for


class Counter:
    """A job body that counts its runs (and can fail on them)."""

    def __init__(self, fail: bool = False) -> None:
        self.runs = 0
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.runs += 1
        if self.fail:
            raise RuntimeError("job failed")


def test_one_worker_runs_a_job_per_tick_and_each_job_has_its_own_lock():
    recover, feed = Counter(), Counter()
    jobs = [Job("t-recover", 1.0, recover), Job("t-feed", 1.0, feed)]
    here, there = MaintenanceLoop(jobs, get_redis()), MaintenanceLoop(jobs, get_redis())

    assert here.run_once(jobs[0]) and here.run_once(jobs[1])  # two jobs, two locks
    assert not there.run_once(jobs[0]) and not there.run_once(jobs[1])  # taken this tick
    assert (recover.runs, feed.runs) == (1, 1)
    # The tick's lock expires within the interval: the next tick is anyone's.
    wait_for(lambda: there.run_once(jobs[0]), timeout=2, message="the next tick")
    assert recover.runs == 2


def test_the_loop_runs_its_jobs_on_their_intervals_and_survives_failures():
    failing, steady = Counter(fail=True), Counter()
    loop = MaintenanceLoop([Job("t-failing", 0.3, failing), Job("t-steady", 1.0, steady)],
                           get_redis()).start()
    try:
        started = time.monotonic()
        wait_for(lambda: failing.runs >= 4, timeout=10, message="a failing job to run again")
        # Each job on its own interval: the slow one ran about once a second, not every turn.
        assert 1 <= steady.runs <= (time.monotonic() - started) / 1.0 + 1
    finally:
        loop.stop()
    assert not loop.alive()


def test_a_slow_job_does_not_hold_up_the_others():
    """Reading a provider batch's output can take long: recovery and the feeder's timer keep
    their intervals meanwhile."""
    release = threading.Event()
    slow_started = threading.Event()

    def slow() -> None:
        slow_started.set()
        release.wait(20)

    quick = Counter()
    loop = MaintenanceLoop([Job("t-slow", 0.2, slow), Job("t-quick", 0.2, quick)],
                           get_redis()).start()
    try:
        assert slow_started.wait(5)
        wait_for(lambda: quick.runs >= 5, timeout=5, message="the quick job to keep running")
        assert not release.is_set()  # all of those while the slow one was still running
    finally:
        release.set()
        loop.stop()
    assert not loop.alive()
