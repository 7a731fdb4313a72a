"""A batch's priority and owner through the API (issue 10): submitted, shown in /status and the
list, filtered on, refused naming the field, part of the Idempotency-Key's promise, carried by
schedules into the batches they make (a real worker runs the scheduled task), and stated in the
OpenAPI schema as the domain applies them."""

from __future__ import annotations

import re

from app.celery_app import app as celery_app
from app.main import app
from tests.support import faults
from tests.support.api_helpers import wait_final
from tests.support.stack import wait_for

SUBMIT = "/api/tasks/generate-articles"


def _post(api, **fields):
    return api.post(SUBMIT, json={"titles": ["A title"], "category": "guide", **fields})


def _field(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["errors"][0]["field"]


def test_priority_and_owner_are_stored_shown_and_filtered(api):
    mine = _post(api, priority="high", owner="  编辑部  ")
    assert mine.status_code == 202, mine.text
    assert (mine.json()["priority"], mine.json()["owner"]) == ("high", "编辑部")
    plain = _post(api).json()
    assert (plain["priority"], plain["owner"]) == ("normal", None)
    alice = _post(api, priority="low", owner="alice").json()
    blank = _post(api, owner="   ").json()
    assert blank["owner"] is None

    status = api.get(f"/api/tasks/{mine.json()['task_id']}/status").json()
    assert (status["priority"], status["owner"]) == ("high", "编辑部")

    def ids(query: str) -> list[str]:
        page = api.get(f"/api/tasks?{query}")
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == len(body["items"])
        return [b["task_id"] for b in body["items"]]

    everything = ids("limit=50")
    assert len(everything) == 4
    assert [b["owner"] for b in api.get("/api/tasks").json()["items"]] == [
        None, "alice", None, "编辑部"]  # newest first
    assert ids("priority=high") == [mine.json()["task_id"]]
    assert ids("owner=%E7%BC%96%E8%BE%91%E9%83%A8") == [mine.json()["task_id"]]  # 编辑部
    assert ids("owner=alice&priority=low") == [alice["task_id"]]
    assert ids("owner=alice&priority=high") == []
    assert ids("owner=%20alice%20") == [alice["task_id"]]  # cleaned as on submit
    assert ids("owner=") == everything  # blank: any owner
    assert ids("priority=normal&status=pending") == [blank["task_id"], plain["task_id"]]

    for query, field in [("priority=urgent", "priority"), (f"owner={'x' * 101}", "owner"),
                         ("owner=a%0Ab", "owner")]:
        assert _field(api.get(f"/api/tasks?{query}")) == field, query


def test_a_bad_priority_or_owner_is_refused_naming_the_field(api):
    for fields, field in [({"priority": "urgent"}, "priority"), ({"priority": 1}, "priority"),
                          ({"priority": None}, "priority"), ({"owner": "x" * 101}, "owner"),
                          ({"owner": "alice\nbob"}, "owner"), ({"owner": "tab\there"}, "owner"),
                          ({"owner": 7}, "owner")]:
        assert _field(_post(api, **fields)) == field, fields
    assert faults.batch_count() == 0 and faults.queue_length() == 0
    # Exactly at the limit is fine, and so are Chinese names.
    assert _post(api, owner="编" * 100).json()["owner"] == "编" * 100


def test_one_idempotency_key_with_another_priority_or_owner_is_409(api):
    body = {"titles": ["Keyed"], "category": "guide", "priority": "high", "owner": "alice"}
    key = {"Idempotency-Key": "k-priority"}
    first = api.post(SUBMIT, json=body, headers=key)
    assert first.status_code == 202
    again = api.post(SUBMIT, json={**body, "owner": " alice ", "priority": "high"}, headers=key)
    assert again.status_code == 202 and again.json()["task_id"] == first.json()["task_id"]
    assert again.headers.get("idempotent-replayed") == "true"
    for other in ({"priority": "low"}, {"owner": "bob"}, {"owner": None}, {"mode": "batch"},
                  {"max_cost_usd": 1.5}, {"language": "zh-CN"}):
        refused = api.post(SUBMIT, json={**body, **other}, headers=key)
        assert refused.status_code == 409, (other, refused.text)
        assert refused.json()["errors"][0]["field"] == "idempotency-key"
    assert faults.batch_count() == 1 and faults.queue_length() == 1


def test_a_schedule_carries_priority_and_owner_into_its_batches(api, start_worker):
    start_worker(concurrency=2)
    created = api.post("/api/schedules", json={
        "name": "Morning desk", "cron": "0 6 * * *", "titles": ["Rates today"],
        "category": "news", "priority": "high", "owner": "编辑部"})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert (schedule["priority"], schedule["owner"]) == ("high", "编辑部")
    sid = schedule["id"]
    assert _field(api.patch(f"/api/schedules/{sid}", json={"priority": "soon"})) == "priority"
    assert _field(api.patch(f"/api/schedules/{sid}", json={"owner": "a\nb"})) == "owner"

    # What beat sends when the schedule fires, consumed by a real worker.
    celery_app.send_task("app.tasks.maintenance.run_schedule", args=[sid])
    ran = wait_for(lambda: api.get(f"/api/schedules/{sid}").json()["last_batch_id"],
                   timeout=30, message="the scheduled run")
    batch = wait_final(api, ran)
    assert (batch["priority"], batch["owner"], batch["schedule_id"]) == ("high", "编辑部", sid)

    patched = api.patch(f"/api/schedules/{sid}", json={"priority": "low", "owner": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["priority"], patched.json()["owner"]) == ("low", None)
    assert api.patch(f"/api/schedules/{sid}", json={"owner": " bob "}).json()["owner"] == "bob"
    assert api.patch(f"/api/schedules/{sid}", json={"enabled": False}).json()["owner"] == "bob"
    assert api.patch(f"/api/schedules/{sid}", json={"owner": ""}).json()["owner"] is None


def test_the_schema_states_the_limits_the_domain_applies():
    schemas = app.openapi()["components"]["schemas"]
    request = schemas["GenerateRequest"]["properties"]
    assert request["priority"]["enum"] == ["high", "normal", "low"]
    assert request["priority"]["default"] == "normal"
    owner = next(o for o in request["owner"]["anyOf"] if o.get("type") == "string")
    assert owner["maxLength"] == 100 and re.search(owner["pattern"], "编辑部")
    assert not re.search(owner["pattern"], "a\nb")
    assert "owner" in schemas["BatchOut"]["properties"]
    for name in ("ScheduleIn", "SchedulePatch", "ScheduleOut"):
        assert {"priority", "owner"} <= set(schemas[name]["properties"]), name
    listing = app.openapi()["paths"]["/api/tasks"]["get"]["parameters"]
    params = {p["name"]: p["schema"] for p in listing}
    assert {"priority", "owner"} <= set(params)
    query_owner = next(o for o in params["owner"]["anyOf"] if o.get("type") == "string")
    assert query_owner["maxLength"] == 100 and query_owner["pattern"] == owner["pattern"]
