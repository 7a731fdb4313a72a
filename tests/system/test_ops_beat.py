"""Beat on RedBeat: two beats running, and each periodic task still goes out once per period."""

from __future__ import annotations

import re
from datetime import datetime

from tests.support.stack import wait_for

SEND = re.compile(r"^\[(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/\w+\] "
                  r"Scheduler: Sending due task (?P<entry>\S+) ")
PERIODS = {"reap-stuck-items": 1.0, "cleanup-old-data": 2.0}


def sends(beat) -> list[tuple[float, str]]:
    """(time, entry) for every task this beat sent, from its own log."""
    found = []
    for line in beat.log_path.read_text(errors="replace").splitlines():
        if m := SEND.match(line):
            when = datetime.strptime(m["ts"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            found.append((when, m["entry"]))
    return found


def assert_once_per_period(timeline: list[tuple[float, str]]) -> None:
    for entry, period in PERIODS.items():
        times = sorted(t for t, e in timeline if e == entry)
        gaps = [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)]
        # A second beat sending too would put two sends within a fraction of the period.
        assert all(g >= period * 0.9 for g in gaps), f"{entry} sent twice in a period: {gaps}"


def test_two_beats_send_each_periodic_task_once_per_period(start_beat, start_worker):
    worker = start_worker(concurrency=2)
    env = {"REAPER_INTERVAL": "1", "CLEANUP_INTERVAL": "2"}
    first = start_beat(**env)  # returns once it holds RedBeat's lock
    second = start_beat(wait=False, **env)
    wait_for(lambda: "beat: Starting..." in second.log_tail(), timeout=30,
             message="the second beat to start")
    overlap_from = len([s for s in sends(first) if s[1] == "reap-stuck-items"])
    wait_for(lambda: len([s for s in sends(first) if s[1] == "reap-stuck-items"])
             >= overlap_from + 5, timeout=30, message="five reaper periods with two beats")

    # Both running: only the lock holder sends, once per period.
    assert sends(second) == []
    assert not second.logged("beat: Acquired lock")
    assert set(PERIODS) <= {e for _, e in sends(first)}
    assert_once_per_period(sends(first))

    # The tasks run on the worker.
    for task in ("reap_stuck_items", "cleanup_old_data"):
        wait_for(lambda t=task: re.search(rf"Task app\.tasks\.maintenance\.{t}\[\S+\] succeeded",
                                          worker.log_tail(400)),
                 timeout=20, message=f"the worker to run {task}")

    # The lock holder stops: the other one takes over, and the periods still hold across the
    # handover (RedBeat keeps each entry's last run in Redis, not in the beat).
    first.stop()
    assert first.logged("beat: Releasing lock")
    wait_for(lambda: len([s for s in sends(second) if s[1] == "reap-stuck-items"]) >= 3,
             timeout=40, message="the second beat to take over")
    assert second.logged("beat: Acquired lock")
    assert_once_per_period(sends(first) + sends(second))


def test_cleanup_and_schedule_sync(api, start_worker):
    from datetime import timedelta

    from redbeat import RedBeatSchedulerEntry
    from sqlalchemy import update

    from app.batches.models import AIGenerationTask
    from app.celery_app import app as celery_app
    from app.core.db import session_scope
    from app.core.models import utcnow
    from app.core.names import RUN_SCHEDULE_TASK
    from app.schedules import redbeat as schedules
    from app.schedules.cron import parse_cron
    from tests.support.api_helpers import submit, wait_final

    start_worker(concurrency=2, batch_retention_days=1)
    old, recent = (submit(api, [f"Cleanup title {i}"])["task_id"] for i in range(2))
    wait_final(api, old)
    wait_final(api, recent)
    with session_scope() as session:
        session.execute(update(AIGenerationTask).where(AIGenerationTask.id == old)
                        .values(finished_at=utcnow() - timedelta(days=2)))

    # Redis lost one schedule's entry, and still has one of a schedule deleted long ago.
    sid = api.post("/api/schedules", json={"name": "Daily", "cron": "@daily",
                                           "titles": ["T"], "category": "guide"}).json()["id"]
    schedules.remove_entry(sid)
    RedBeatSchedulerEntry(name=schedules.entry_name("0" * 32), task=RUN_SCHEDULE_TASK,
                          schedule=parse_cron("@hourly"), args=["0" * 32],
                          app=celery_app).save()

    celery_app.send_task("app.tasks.maintenance.sync_schedules")
    celery_app.send_task("app.tasks.maintenance.cleanup_old_data")
    wait_for(lambda: api.get(f"/api/tasks/{old}/status").status_code == 404, timeout=30,
             message="the old batch to be deleted")
    assert api.get("/api/articles", params={"task_id": old}).json()["total"] == 0
    assert api.get(f"/api/tasks/{recent}/status").json()["status"] == "completed"
    assert api.get("/api/articles", params={"task_id": recent}).json()["total"] == 1
    wait_for(lambda: schedules.load_entry(sid) is not None, timeout=30,
             message="the lost entry to be rebuilt")
    assert schedules.load_entry("0" * 32) is None
