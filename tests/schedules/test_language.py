"""A schedule's language is validated once and passed to every batch it makes."""

from __future__ import annotations

from app.core.db import session_scope
from app.schedules import service


def test_a_schedule_passes_its_language_to_its_batches(api):
    created = api.post("/api/schedules", json={
        "name": "Chinese weekly", "cron": "0 6 * * mon", "titles": ["什么是 ETF？", "Index funds"],
        "category": "guide", "language": "zh_cn"})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["language"] == "zh-CN"
    bad = api.patch(f"/api/schedules/{schedule['id']}", json={"language": "english please"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "language"
    with session_scope() as session:
        ran = service.run(session, schedule["id"], run_id="run-1")
    status = api.get(f"/api/tasks/{ran['batch_id']}/status").json()
    assert status["language"] == "zh-CN"
    assert [i["language"] for i in status["items"]] == ["zh-CN", "zh-CN"]

    patched = api.patch(f"/api/schedules/{schedule['id']}", json={"language": "auto"})
    assert patched.json()["language"] == "auto"
    with session_scope() as session:
        ran = service.run(session, schedule["id"], run_id="run-2")
    status = api.get(f"/api/tasks/{ran['batch_id']}/status").json()
    assert [i["language"] for i in status["items"]] == ["zh-CN", "en"]
