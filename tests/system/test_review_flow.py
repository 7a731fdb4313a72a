"""Issue 11's backend with real workers and the fake OpenAI-compatible server: review states,
edits as versions (a stale one is 409), and regenerating one article with feedback."""

from __future__ import annotations

from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for

FEEDBACK = "Shorter, and add a table of fees"


def _one_article(api, task_id: str) -> dict:
    (article,) = api.get("/api/articles", params={"task_id": task_id}).json()["items"]
    return article


def test_review_edit_and_regenerate_with_feedback(api, start_worker, fake_llm, llm_env):
    start_worker(concurrency=2, **llm_env)
    batch = submit(api, ["Choosing a savings account"])
    wait_final(api, batch["task_id"])
    article = _one_article(api, batch["task_id"])
    url = f"/api/articles/{article['id']}"
    assert (article["status"], article["version"], article["quality_flags"]) == (
        "draft", 1, [])
    got = api.get(url)
    assert got.headers["etag"] == '"1"'

    # Review states: reject, refused moves are 409 naming the state.
    rejected = api.post(f"{url}/reject", json={"note": "Too generic", "reviewer": "Ana",
                                             "version": 1})
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    # The reviewer is who is signed in (here the anonymous admin), not the body's `reviewer`.
    assert (body["status"], body["reviewer"], body["review_note"]) == (
        "rejected", "anonymous", "Too generic")
    assert body["reviewed_at"] and body["updated_at"]
    refused = api.post(f"{url}/publish", json={"version": 1})
    assert refused.status_code == 409
    assert ("is rejected: only approved or scheduled articles can be published"
            in refused.json()["detail"])
    assert api.post("/api/articles/999999/approve", json={"version": 1}).status_code == 404

    # An edit is version 2 (a draft again); a stale one is 409, by field or If-Match.
    edited = api.patch(url, json={"title": "Choosing a savings account in 2026",
                                  "content": "# Choosing\n\nEdited.", "version": 1,
                                  "reviewer": "Ana", "note": "tightened"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["status"]) == (2, "draft")
    assert edited.headers["etag"] == '"2"'
    stale = api.patch(url, json={"content": "lost", "version": 1})
    assert stale.status_code == 409 and "is at version 2, not 1" in stale.json()["detail"]
    stale = api.patch(url, json={"content": "lost"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert api.patch(url, json={"content": "no version"}).status_code == 428
    by_etag = api.patch(url, json={"content": "# Choosing\n\nAgain."},
                        headers={"If-Match": edited.headers["etag"]})
    assert by_etag.status_code == 200 and by_etag.json()["version"] == 3

    # Regenerate with feedback: the batch runs again, the test server sees the feedback.
    fake_llm.add_rule(FEEDBACK, [Behavior(latency=1.5, chunks=6)])
    before = len(fake_llm.requests)
    queued = api.post(f"{url}/regenerate", json={"feedback": FEEDBACK})
    assert queued.status_code == 202, queued.text
    assert queued.headers["location"] == f"/api/tasks/{batch['task_id']}/status"
    assert queued.json() == {"article_id": article["id"], "task_id": batch["task_id"],
                             "item_id": article["item_id"], "item_status": "pending",
                             "version": 3, "feedback": FEEDBACK}
    running = api.get(f"/api/tasks/{batch['task_id']}/status").json()
    assert running["status"] == "processing"
    assert api.post(f"{url}/regenerate").status_code == 409  # already being written
    wait_for(lambda: api.get(url).json()["version"] == 4, timeout=60,
             message="the regenerated version")
    status = wait_final(api, batch["task_id"])
    assert status["status"] == "completed" and status["total"] == 1
    prompt = fake_llm.requests[before].text
    assert FEEDBACK in prompt and "Choosing a savings account in 2026" in prompt
    final = api.get(url).json()
    assert (final["version"], final["status"], final["title"]) == (
        4, "draft", "Choosing a savings account in 2026")
    assert final["content"] != by_etag.json()["content"]
    assert len(api.get("/api/articles", params={"task_id": batch["task_id"]})
               .json()["items"]) == 1

    versions = api.get(f"{url}/versions").json()
    assert versions["current"] == 4 and versions["total"] == 4
    assert [(v["version"], v["source"]) for v in versions["items"]] == [
        (1, "generated"), (2, "edit"), (3, "edit"), (4, "regenerated")]
    assert versions["items"][1]["author"] == "anonymous"
    assert versions["items"][3]["note"] == FEEDBACK
    first = api.get(f"{url}/versions/1").json()
    assert first["content"] == article["content"] and first["title"] == article["title"]
    assert api.get(f"{url}/versions/9").status_code == 404

    assert api.post(f"{url}/approve", json={"reviewer": "Ana"}).status_code == 428
    assert api.post(f"{url}/approve", headers={"If-Match": '"3"'}).status_code == 409  # stale
    approved = api.post(f"{url}/approve", json={"reviewer": "Ana"}, headers={"If-Match": '"4"'})
    assert approved.json()["status"] == "approved"
    assert api.post(f"{url}/publish", json={"version": 4}).json()["status"] == "published"


def test_an_article_of_a_cancelled_batch_can_be_regenerated(api, start_worker, fake_llm,
                                                           llm_env):
    start_worker(concurrency=2, **llm_env)
    fake_llm.add_rule("Never finished", [Behavior(latency=60, chunks=60)])
    batch = submit(api, ["Finished first", "Never finished"])
    task = batch["task_id"]
    wait_for(lambda: api.get(f"/api/tasks/{task}/status").json()["completed"] == 1,
             timeout=60, message="the first article")
    assert api.post(f"/api/tasks/{task}/cancel").status_code == 202
    status = wait_final(api, task)
    assert (status["status"], status["cancelled"]) == ("cancelled", 1)
    article = _one_article(api, task)

    queued = api.post(f"/api/articles/{article['id']}/regenerate")
    assert queued.status_code == 202, queued.text
    wait_for(lambda: api.get(f"/api/articles/{article['id']}").json()["version"] == 2,
             timeout=60, message="the regenerated version")
    status = wait_final(api, task)
    assert (status["status"], status["completed"], status["cancelled"]) == ("cancelled", 1, 1)
    assert [i["status"] for i in status["items"]] == ["completed", "cancelled"]
