"""The Batch API lane (issue 12): a batch in `mode: "batch"` goes to the provider's /v1/files and
/v1/batches through the SDK, is polled by the workers' maintenance loop, stores each article at
the batch price, hands failing and expired lines back to real time, and cancels keeping what
finished. Issue 19: its answers pass the same quality checks as real time's, and a worker killed
between the provider's `batches.create` and the commit leaves one provider batch, adopted.
Real workers, no beat, the fake server's time-driven Batch API."""

from __future__ import annotations

import pytest

from app.batches.scheduling.launch import OFFLINE_NOTE
from app.batches.spend import budget
from app.core.redis import get_redis
from app.llm import prices
from tests.support.api_helpers import wait_final
from tests.support.fake_batches import BatchBehavior
from tests.support.fake_openai import Behavior
from tests.support.faults import articles_per_title
from tests.support.stack import wait_for

MODEL = "gpt-4o-mini"  # priced by the genai-prices table: batch = half the real-time price


def _submit(api, titles: list[str], **body: object) -> dict:
    response = api.post("/api/tasks/generate-articles",
                        json={"titles": titles, "category": "guide", "mode": "batch", **body})
    assert response.status_code == 202, response.text
    return response.json()


def _articles(api, task_id: str) -> list[dict]:
    return api.get("/api/articles", params={"task_id": task_id, "limit": 100}).json()["items"]


def _cost(article: dict, lane: str) -> float:
    price = prices.price_for("openai", MODEL)
    assert price is not None
    rate_in, rate_out = price.rates(lane)  # type: ignore[arg-type]
    tokens = article["tokens"]
    return (tokens["prompt"] * rate_in + tokens["completion"] * rate_out) / 1_000_000


@pytest.fixture
def lane_env(llm_env: dict[str, str]) -> dict[str, str]:
    return {**llm_env, "OPENAI_MODEL": MODEL}


def test_a_batch_mode_batch_completes_through_the_batch_api(
        api, start_worker, fake_llm, lane_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=2.0, finalizing=0.3)
    titles = [f"Lane title {i:02d}" for i in range(20)]
    fake_llm.batches.fail("Lane title 03", status=500)
    fake_llm.batches.fail("Lane title 11", status=429, type="rate_limit_error")
    start_worker(concurrency=2, BATCH_POLL_SECONDS="0.5", **lane_env)
    batch = _submit(api, titles)
    assert batch["mode"] == "batch"

    # In progress: the provider batch is on the batch, its answered lines move the progress.
    def answered() -> dict | None:
        status = api.get(f"/api/tasks/{batch['task_id']}/status").json()
        lanes = status["provider_batches"]
        return status if lanes and lanes[0]["completed"] and status["completed"] == 0 else None

    midway = wait_for(answered, timeout=30, message="the provider to answer some lines")
    assert midway["status"] == "processing" and midway["progress"] > 0
    assert all(i["status"] == "processing" for i in midway["items"])

    status = wait_final(api, batch["task_id"], timeout=90)
    assert status["status"] == "completed" and status["completed"] == 20

    # One provider batch: the real-time prompt, not streamed, custom_id = the item's id.
    [provider_batch] = fake_llm.batches.batches.values()
    lines = fake_llm.batches.input_lines(provider_batch.id)
    items = {str(i["id"]): i for i in status["items"]}
    assert sorted(line["custom_id"] for line in lines) == sorted(items)
    assert all(line["body"]["model"] == MODEL and "stream" not in line["body"]
               and line["body"]["max_tokens"] > 0 for line in lines)
    assert all("<article-request>" in line["body"]["messages"][-1]["content"] for line in lines)
    assert status["provider_batches"] == [{"id": provider_batch.id, "status": "completed",
                                           "total": 20, "completed": 18, "failed": 2}]
    assert {i["provider_batch_id"] for i in status["items"]} == {provider_batch.id}

    # The two failing lines were finished in real time: one more attempt each, streamed.
    realtime = fake_llm.requests
    assert sorted(r.text.split('"title": "')[1][:13] for r in realtime) == [
        "Lane title 03", "Lane title 11"]
    assert all(r.stream for r in realtime)
    by_title = {i["title"]: i for i in status["items"]}
    assert by_title["Lane title 03"]["attempts"] == 2 and by_title["Lane title 04"]["attempts"] == 1

    # Each article costs its tokens at its lane's price; the batch's cost is their sum.
    articles = _articles(api, batch["task_id"])
    lanes = {a["title"]: a["lane"] for a in articles}
    assert [t for t, lane in sorted(lanes.items()) if lane == "realtime"] == [
        "Lane title 03", "Lane title 11"]
    for article in articles:
        assert article["cost_usd"] == pytest.approx(_cost(article, article["lane"]), rel=1e-9)
    assert status["cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in articles), rel=1e-9)
    lane_only = [a for a in articles if a["lane"] == "batch"]
    assert sum(a["cost_usd"] for a in lane_only) == pytest.approx(
        sum(_cost(a, "realtime") for a in lane_only) / 2, rel=1e-9)


def test_an_expired_provider_batch_hands_the_lines_it_never_ran_to_real_time(
        api, start_worker, fake_llm, lane_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=1.0, expire_after=4)
    start_worker(concurrency=2, BATCH_POLL_SECONDS="0.5", **lane_env)
    batch = _submit(api, [f"Expiring title {i}" for i in range(6)])
    status = wait_final(api, batch["task_id"], timeout=90)
    assert status["status"] == "completed"
    assert status["provider_batches"][0]["status"] == "expired"
    lanes = sorted(a["lane"] for a in _articles(api, batch["task_id"]))
    assert lanes == ["batch"] * 4 + ["realtime"] * 2
    assert fake_llm.count() == 2


def test_cancelling_a_batch_mode_batch_midway_keeps_the_finished_articles(
        api, start_worker, fake_llm, lane_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=8.0, cancelling=0.5)
    start_worker(concurrency=2, BATCH_POLL_SECONDS="0.3", **lane_env)
    batch = _submit(api, [f"Cancelled lane title {i}" for i in range(10)])
    task = batch["task_id"]

    def some_answered() -> bool:
        lanes = api.get(f"/api/tasks/{task}/status").json()["provider_batches"]
        return bool(lanes) and lanes[0]["completed"] >= 3

    wait_for(some_answered, timeout=30, message="a few lines answered")
    response = api.post(f"/api/tasks/{task}/cancel")
    assert response.status_code == 202, response.text
    status = wait_final(api, task, timeout=60)
    assert status["status"] == "cancelled"

    [provider_batch] = fake_llm.batches.batches.values()
    fake = fake_llm.batches.get(provider_batch.id)
    assert fake.status == "cancelled" and fake.cancel_requested is not None
    kept = fake.done_at_cancel
    assert 3 <= kept < 10
    assert (status["completed"], status["cancelled"], status["failed"]) == (kept, 10 - kept, 0)
    articles = _articles(api, task)
    assert len(articles) == kept and all(a["lane"] == "batch" for a in articles)
    answered = {i["title"] for i in status["items"] if str(i["id"]) in fake.output_order}
    assert {a["title"] for a in articles} == answered and len(answered) == kept
    assert fake_llm.count() == 0  # nothing went to real time
    assert status["provider_batches"][0]["status"] == "cancelled"


def test_batch_mode_with_the_offline_writer_runs_in_real_time_with_a_note(api, start_worker):
    start_worker(concurrency=2)
    batch = _submit(api, ["Offline lane one", "Offline lane two"])
    status = wait_final(api, batch["task_id"])
    # It ran in real time, and says so: its mode, and the note that says why.
    assert status["status"] == "completed" and status["mode"] == "realtime"
    assert status["note"] == OFFLINE_NOTE and status["provider_batches"] == []
    assert {a["lane"] for a in _articles(api, batch["task_id"])} == {"realtime"}
    assert status["cost_usd"] == 0.0  # the offline writer costs nothing


def test_a_cap_below_the_whole_provider_batch_says_so(api, start_worker, fake_llm, lane_env):
    """The lane reserves a provider batch's worst case at once; the pause said the cap "is
    below one call's worst-case cost of $0.0047" though one request costs a tenth of that."""
    start_worker(concurrency=2, **lane_env)
    batch = _submit(api, [f"Capped lane title {i}" for i in range(10)], max_cost_usd=0.002)
    task = batch["task_id"]

    def paused() -> dict | None:
        status = api.get(f"/api/tasks/{task}/status").json()
        return status if status["status"] == "paused" else None

    status = wait_for(paused, timeout=30, message="the lane to pause on the batch's cap")
    reason = status["paused_reason"]
    assert reason.startswith("batch budget of $0.002 is below the worst-case cost of one "
                             "provider batch of 10 requests, $0."), reason
    assert reason.endswith(" at the batch price; raise max_cost_usd to resume"), reason
    assert "one call" not in reason and fake_llm.batches.batches == {}
    assert api.post(f"/api/tasks/{task}/cancel").status_code == 202


REFUSAL = "I'm sorry, I can't help with that."
SHORT = "# {t}\n\nToo short.\n\n## One\n\nA line.\n\n## Two\n\nA line.\n\n## Three\n\nEnd."


def test_a_refusal_and_a_short_answer_from_the_batch_api_are_checked_as_in_real_time(
        api, start_worker, fake_llm, lane_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=0.5)
    fake_llm.batches.answer("Lane refused title", REFUSAL)
    fake_llm.batches.answer("Lane short title", SHORT.format(t="Lane short title"))
    # Written again in real time: the refused one well, the short one short again.
    fake_llm.add_rule("Lane short title",
                      [Behavior("text", text=SHORT.format(t="Lane short title"))])
    start_worker(concurrency=2, BATCH_POLL_SECONDS="0.5", **lane_env)
    titles = ["Lane refused title", "Lane short title", "Lane fine title"]
    batch = _submit(api, titles, language="en")
    status = wait_final(api, batch["task_id"], timeout=90)

    assert (status["status"], status["completed"], status["failed"]) == ("completed", 3, 0)
    assert (status["regenerated"], status["needs_review"]) == (2, 1)
    items = {i["title"]: i for i in status["items"]}
    assert {t: (i["attempts"], i["regenerations"]) for t, i in items.items()} == {
        "Lane refused title": (2, 1), "Lane short title": (2, 1), "Lane fine title": (1, 0)}
    # The rejected lines were written again in real time, with the checks' reasons.
    prompts = {t: [r.text for r in fake_llm.requests if t in r.text] for t in titles}
    assert [len(p) for p in prompts.values()] == [1, 1, 0]
    assert "refusal or boilerplate" in prompts["Lane refused title"][0]
    assert "too short" in prompts["Lane short title"][0]
    articles = {a["title"]: a for a in _articles(api, batch["task_id"])}
    assert {t: (a["status"], a["lane"]) for t, a in articles.items()} == {
        "Lane refused title": ("draft", "realtime"),
        "Lane short title": ("needs_review", "realtime"),
        "Lane fine title": ("draft", "batch")}
    assert "length" in {f["name"] for f in articles["Lane short title"]["quality_flags"]}
    # The two rejected drafts were paid for at the batch price: the batch's cost has them.
    assert status["cost_usd"] > sum(a["cost_usd"] for a in articles.values())


def test_with_no_regeneration_left_a_refused_batch_api_line_is_kept_for_review(
        api, start_worker, fake_llm, lane_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=0.3)
    fake_llm.batches.answer("Lane refused title", REFUSAL)
    start_worker(concurrency=2, QUALITY_MAX_REGENERATIONS="0", BATCH_POLL_SECONDS="0.5",
                 **lane_env)
    batch = _submit(api, ["Lane refused title", "Lane fine title"], language="en")
    status = wait_final(api, batch["task_id"], timeout=90)
    assert (status["status"], status["regenerated"], status["needs_review"]) == (
        "completed", 0, 1)
    assert [i["attempts"] for i in status["items"]] == [1, 1]
    articles = {a["title"]: a for a in _articles(api, batch["task_id"])}
    refused = articles["Lane refused title"]
    assert (refused["status"], refused["lane"]) == ("needs_review", "batch")
    assert "refusal" in {f["name"] for f in refused["quality_flags"]}
    assert fake_llm.count() == 0  # nothing went to real time


def test_a_worker_killed_between_create_and_commit_leaves_one_provider_batch_adopted(
        api, start_worker, fake_llm, lane_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=0.5)
    # A daily cap, so the provider batch's worst case is reserved; a short client timeout, so
    # the poller's grace for an intent left "creating" (twice that) is short.
    env = {**lane_env, "BUDGET_DAILY_USD": "100", "LLM_TIMEOUT": "2"}
    doomed = start_worker("doomed", concurrency=2, app="tests.support.crash_points",
                          CRASH_AT="after-batches-create", **env)
    titles = [f"Crash lane title {i}" for i in range(6)]
    batch = _submit(api, titles)
    task = batch["task_id"]
    wait_for(lambda: doomed.proc is not None and doomed.proc.poll() is not None, timeout=60,
             message="the worker to die after batches.create")

    # The provider batch exists and is paid for; the service knows it only as an intent.
    [provider_batch] = fake_llm.batches.batches.values()
    status = api.get(f"/api/tasks/{task}/status").json()
    [intent] = status["provider_batches"]
    assert intent["status"] == "creating" and intent["id"] == provider_batch.metadata[
        "trustagency_intent"]
    assert {(i["status"], i["provider_batch_id"], i["attempts"]) for i in status["items"]} == {
        ("processing", intent["id"], 0)}

    start_worker("survivor", concurrency=2, BATCH_POLL_SECONDS="0.5", **env)
    status = wait_final(api, task, timeout=90)
    assert (status["status"], status["completed"]) == ("completed", 6)
    # One provider batch, adopted: its id on the batch and the items, each line stored once.
    assert list(fake_llm.batches.batches) == [provider_batch.id]
    assert status["provider_batches"] == [{"id": provider_batch.id, "status": "completed",
                                           "total": 6, "completed": 6, "failed": 0}]
    assert {(i["provider_batch_id"], i["attempts"]) for i in status["items"]} == {
        (provider_batch.id, 1)}
    assert articles_per_title(task) == {title: 1 for title in titles}
    assert fake_llm.count() == 0  # nothing written again in real time
    # Nothing paid twice: the batch costs what its articles cost, and the day's budget counter
    # holds that (the reservation settled once, none left in flight or made twice).
    articles = _articles(api, task)
    assert {a["lane"] for a in articles} == {"batch"}
    assert status["cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in articles), rel=1e-9)
    assert budget.spent(get_redis()).today_usd == pytest.approx(status["cost_usd"], abs=2e-9)
