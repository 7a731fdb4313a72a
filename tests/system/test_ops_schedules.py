"""Scheduled batches: the API, their RedBeat entries, and runs that create linked batches."""

from __future__ import annotations

import redis
from celery.schedules import crontab

from app.celery_app import app as celery_app
from tests.support.api_helpers import wait_final
from tests.support.faults import forget_broker_connections
from tests.support.stack import wait_for

BODY = {"name": "Weekly guides", "cron": "0 6 * * mon", "titles": ["Savings  101", "ETFs"],
        "category": "Guide"}


def _entry(schedule_id: str):
    from app.schedules.redbeat import load_entry

    return load_entry(schedule_id)


def _errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_schedule_crud_is_mirrored_into_redbeat(api):
    created = api.post("/api/schedules", json=BODY)
    assert created.status_code == 201, created.text
    schedule = created.json()
    sid = schedule["id"]
    # Cleaned like a batch; next run computed in UTC.
    assert schedule["titles"] == ["Savings 101", "ETFs"] and schedule["category"] == "guide"
    assert schedule["enabled"] is True and schedule["run_count"] == 0
    assert schedule["next_run_at"].endswith("Z")

    entry = _entry(sid)
    assert entry is not None and entry.task == "app.tasks.maintenance.run_schedule"
    assert entry.args == [sid]
    assert entry.schedule == crontab(minute="0", hour="6", day_of_week="mon")

    assert api.get(f"/api/schedules/{sid}").json() == schedule
    listed = api.get("/api/schedules").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == sid

    # A change reaches the entry beat reads, without restarting anything.
    changed = api.patch(f"/api/schedules/{sid}", json={"cron": "*/15 * * * *"})
    assert changed.status_code == 200 and changed.json()["cron"] == "*/15 * * * *"
    assert _entry(sid).schedule == crontab(minute="*/15")
    assert changed.json()["titles"] == ["Savings 101", "ETFs"]  # untouched fields stay

    # Disabled: no entry, so beat cannot fire it. Enabled again: back.
    assert api.patch(f"/api/schedules/{sid}", json={"enabled": False}).json()["next_run_at"] is None
    assert _entry(sid) is None
    assert api.patch(f"/api/schedules/{sid}", json={"enabled": True}).status_code == 200
    assert _entry(sid) is not None

    assert api.delete(f"/api/schedules/{sid}").status_code == 204
    assert _entry(sid) is None
    assert api.get(f"/api/schedules/{sid}").status_code == 404
    assert api.delete(f"/api/schedules/{sid}").status_code == 404
    assert api.patch(f"/api/schedules/{sid}", json={"enabled": False}).status_code == 404


def test_bad_schedules_are_422_naming_the_field_and_store_nothing(api):
    cases = {
        "* * * *": "cron",
        "61 * * * *": "cron",
        "* 25 * * *": "cron",
        "0 0 31 2 *": "cron",
        "every day": "cron",
    }
    for cron, field in cases.items():
        errors = _errors(api.post("/api/schedules", json={**BODY, "cron": cron}))
        assert field in errors, (cron, errors)
    assert "hour field '25'" in _errors(
        api.post("/api/schedules", json={**BODY, "cron": "* 25 * * *"}))["cron"]
    assert "titles" in _errors(api.post("/api/schedules", json={**BODY, "titles": []}))
    assert "titles[1]" in _errors(api.post("/api/schedules", json={**BODY, "titles": ["a", " "]}))
    assert "category" in _errors(api.post("/api/schedules", json={**BODY, "category": "no spaces"}))
    assert "name" in _errors(api.post("/api/schedules", json={**BODY, "name": "  "}))
    assert "enabled" in _errors(api.post("/api/schedules", json={**BODY, "enabled": "yes"}))
    assert api.get("/api/schedules").json()["total"] == 0

    ok = api.post("/api/schedules", json={**BODY, "cron": "@daily"})
    assert ok.status_code == 201
    assert api.post("/api/schedules", json=BODY).status_code == 409  # the name is taken
    sid = ok.json()["id"]
    assert "cron" in _errors(api.patch(f"/api/schedules/{sid}", json={"cron": "0 0 * *"}))
    assert api.get(f"/api/schedules/{sid}").json()["cron"] == "@daily"  # unchanged


def test_a_run_creates_an_ordinary_batch_linked_to_its_schedule(api, start_worker):
    start_worker(concurrency=2)
    sid = api.post("/api/schedules", json=BODY).json()["id"]

    # What beat sends when the schedule fires, consumed by a real worker.
    celery_app.send_task("app.tasks.maintenance.run_schedule", args=[sid])
    schedule = wait_for(lambda: (s := api.get(f"/api/schedules/{sid}").json())["last_batch_id"]
                        and s, timeout=30, message="the scheduled run")
    assert schedule["run_count"] == 1 and schedule["last_run_at"]

    batch = wait_final(api, schedule["last_batch_id"])
    assert batch["status"] == "completed" and batch["schedule_id"] == sid
    assert [i["title"] for i in batch["items"]] == ["Savings 101", "ETFs"]
    assert batch["category"] == "guide"

    # The same run delivered twice makes one batch; a disabled schedule makes none.
    from app.core.db import session_scope
    from app.schedules import service as schedules

    def run(run_id: str) -> dict:
        with session_scope() as session:  # the task's unit of work
            return schedules.run(session, sid, run_id=run_id)

    first = run("run-1")
    again = run("run-1")
    assert first["created"] and not again["created"] and again["batch_id"] == first["batch_id"]
    api.patch(f"/api/schedules/{sid}", json={"enabled": False})
    assert run("run-2") == {"schedule_id": sid, "skipped": "disabled"}
    assert api.get(f"/api/schedules/{sid}").json()["run_count"] == 2
    wait_final(api, first["batch_id"])


def test_schedules_come_back_after_redis_loses_them(api, start_beat):
    sid = api.post("/api/schedules", json=BODY).json()["id"]
    other = api.post("/api/schedules", json={**BODY, "name": "Off", "enabled": False}).json()
    # Redis restarted without persistence: every entry is gone. Beat's start rebuilds them
    # from the database (the truth), and only for enabled schedules.
    redis.Redis.from_url(celery_app.conf.redbeat_redis_url).flushall()
    assert _entry(sid) is None
    beat = start_beat()
    wait_for(lambda: _entry(sid) is not None, timeout=20, message="the entry rebuilt")
    assert _entry(sid).schedule == crontab(minute="0", hour="6", day_of_week="mon")
    assert _entry(other["id"]) is None
    wait_for(lambda: beat.logged("schedules mirrored into RedBeat"), timeout=20,
             message="beat to log the mirror it rebuilt")


def test_beat_runs_a_schedule_created_while_it_runs(api, start_worker, start_beat):
    """One real run: cron has minute resolution, so this waits for the next minute (≤ 60 s)."""
    start_worker(concurrency=2)
    beat = start_beat()
    sid = api.post("/api/schedules", json={**BODY, "cron": "* * * * *"}).json()["id"]

    schedule = wait_for(lambda: (s := api.get(f"/api/schedules/{sid}").json())["last_batch_id"]
                        and s, timeout=90, interval=0.5, message="beat to run the schedule")
    batch = wait_final(api, schedule["last_batch_id"])
    assert batch["schedule_id"] == sid and batch["status"] == "completed"
    assert beat.logged("Sending due task schedule:")

    # A restarted beat finds the entry and remembers the last run (no immediate repeat).
    last_run = _entry(sid).last_run_at
    beat.stop()
    again = start_beat()
    wait_for(lambda: "Sending due task reap-stuck-items" in again.log_tail(200), timeout=20,
             message="the restarted beat's first tick")
    assert not again.logged("Sending due task schedule:")
    assert _entry(sid).last_run_at == last_run
    assert api.get(f"/api/schedules/{sid}").json()["run_count"] == 1


def test_schedule_changes_need_redis_and_store_nothing_without_it(api, redis_server):
    redis_server.stop()
    try:
        response = api.post("/api/schedules", json=BODY)
    finally:
        redis_server.start()
        forget_broker_connections()  # this process's broker sockets died with Redis
    assert response.status_code == 503 and response.json()["detail"].startswith("broker:")
    assert api.get("/api/schedules").json()["total"] == 0
    assert api.post("/api/schedules", json=BODY).status_code == 201
