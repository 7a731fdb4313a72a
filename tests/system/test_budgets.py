"""Budgets that pause instead of overspending (issue 12): before each LLM call a worker reserves
its worst-case cost in Redis under the daily, monthly and batch caps; a reservation that does not
fit starts no call and pauses the batch with the reason; raising the cap and resuming finishes it.
Real workers (two racing for the last dollar), Redis, the fake OpenAI server's request count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.batches.models import GenerationItem
from app.batches.spend import budget
from app.core import names
from app.core.db import session_scope
from app.core.redis import get_redis
from app.llm.base import ArticleRequest
from app.llm.prompt import build_messages
from app.llm.tokens import estimate_messages
from tests.support import faults, http
from tests.support.api_helpers import wait_final
from tests.support.fake_openai import Behavior
from tests.support.server import running_api
from tests.support.stack import use_settings, wait_for
from tests.system.test_cli import cli

# Round prices make the arithmetic readable. The guide profile asks for 700-1,500 words, more
# than LLM_MAX_TOKENS=1100 holds, so each answer is cut at 1100 tokens (finish_reason "length",
# kept for review) as a real provider cuts it: an article (~375 prompt + 1100 completion
# tokens) costs about $1.14, under its worst case (prompt estimate with its margin + 1100
# tokens, about $1.15). The fake honours max_tokens here (`honor_max_tokens`): a worst case is
# a bound only for a server that does, and without it the fake's ~1,280-token answers cost
# $1.33 each, so eight calls in flight passed the cap by what they cost beyond it.
PRICES = json.dumps({"test-model": {"input": 100, "output": 1000}})
MAX_TOKENS = 1100


@pytest.fixture(autouse=True)
def _provider_honours_max_tokens(fake_llm):
    fake_llm.honor_max_tokens = True


def worst_case(title: str) -> float:
    prompt = estimate_messages(build_messages(ArticleRequest(title=title, category="guide")))
    return (prompt * 100 + MAX_TOKENS * 1000) / 1_000_000


def _submit(api, titles: list[str], **body: object) -> dict:
    response = api.post("/api/tasks/generate-articles",
                        json={"titles": titles, "category": "guide", **body})
    assert response.status_code == 202, response.text
    return response.json()


def _status(api, task_id: str) -> dict:
    return api.get(f"/api/tasks/{task_id}/status").json()


def _paused_and_settled(api, task_id: str) -> dict | None:
    """Paused, with the items that were running when it paused all ended."""
    status = _status(api, task_id)
    running = [i for i in status["items"] if i["status"] == "processing"]
    return status if status["status"] == "paused" and not running else None


def _holds() -> list[bytes]:
    return list(get_redis().scan_iter(f"{names.BUDGET_HOLD_PREFIX}*"))


def test_the_daily_budget_pauses_a_batch_and_raising_it_finishes_the_batch(
        api, start_worker, fake_llm, llm_env):
    cap = 5.5  # above 4 articles' cost ($4.55), below 4 articles and one more worst case
    env = {**llm_env, "LLM_PRICES": PRICES, "LLM_MAX_TOKENS": str(MAX_TOKENS)}
    fake_llm.default = Behavior(latency=0.1, chunks=4)
    worker = start_worker("daily", concurrency=1, BUDGET_DAILY_USD=str(cap), **env)
    titles = [f"Budget title {i:02d}" for i in range(20)]
    task = _submit(api, titles)["task_id"]

    status = wait_for(lambda: _paused_and_settled(api, task), timeout=60,
                      message="the batch to pause")
    # The few messages the feeder had sent ahead are delivered and dropped without a call;
    # every waiting item is back in the batch's backlog, in the database.
    wait_for(lambda: faults.queue_length() == 0, timeout=30,
             message="the queued messages to be dropped")
    assert all(i.enqueued_at is None for i in faults.items(task) if i.status == "pending")
    done = status["completed"]
    assert 4 <= done <= 6, status
    assert status["paused_reason"] == "daily budget of $5.50 reached; resumes at 00:00 UTC"
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert status["resume_at"] == f"{tomorrow.isoformat()}T00:00:00Z"
    spent = status["cost_usd"]
    assert spent <= cap < spent + worst_case(titles[done])  # the next call would not fit
    assert fake_llm.count() == done  # no further LLM request
    waiting = [i for i in status["items"] if i["status"] != "completed"]
    assert all(i["status"] == "pending" and i["attempts"] == 0 for i in waiting)
    # Every reservation was settled to the real cost: the day's counter is the spend.
    assert budget.spent(get_redis()).today_usd == pytest.approx(spent, abs=1e-6)
    assert _holds() == []
    progress = api.get(f"/api/tasks/{task}/progress").json()
    assert progress["status"] == "paused" and progress["paused_reason"] == status["paused_reason"]

    # Still over the cap: resuming is refused with the reason (the API has the setting too).
    use_settings(budget_daily_usd=str(cap))
    try:
        refused = api.post(f"/api/tasks/{task}/resume")
        assert refused.status_code == 409 and "BUDGET_DAILY_USD" in refused.json()["detail"]
        assert fake_llm.count() == done

        # Raise the cap (the setting, on every machine), then resume: the rest is written.
        worker.stop()
        start_worker("raised", concurrency=2, BUDGET_DAILY_USD="100", **env)
        use_settings(budget_daily_usd="100")
        resumed = api.post(f"/api/tasks/{task}/resume")
        assert resumed.status_code == 202, resumed.text
        assert resumed.json()["status"] == "processing"
        assert resumed.json()["paused_reason"] is None
    finally:
        use_settings(budget_daily_usd=None)
    final = wait_final(api, task, timeout=90)
    assert final["status"] == "completed" and final["completed"] == 20
    assert fake_llm.count() == 20  # each title asked once
    assert all(i["attempts"] == 1 for i in final["items"])
    articles = api.get("/api/articles", params={"task_id": task, "limit": 50}).json()["items"]
    assert final["cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in articles), rel=1e-9)


def test_two_workers_racing_for_the_last_dollar_never_pass_the_batch_cap(
        api, start_worker, fake_llm, llm_env):
    env = {**llm_env, "LLM_PRICES": PRICES, "LLM_MAX_TOKENS": str(MAX_TOKENS)}
    fake_llm.default = Behavior(latency=0.8, chunks=4)
    first = start_worker("racer1", concurrency=4, **env)
    second = start_worker("racer2", concurrency=4, **env)
    cap = 9.5  # room for 8 worst cases at once (8 slots), not for 9
    titles = [f"Race title {i:02d}" for i in range(24)]
    task = _submit(api, titles, max_cost_usd=cap)["task_id"]
    assert _status(api, task)["max_cost_usd"] == cap

    status = wait_for(lambda: _paused_and_settled(api, task), timeout=60,
                      message="the batch to pause with its running items ended")
    assert status["paused_reason"] == ("batch budget of $9.50 reached; raise max_cost_usd "
                                       "to resume")
    assert status["resume_at"] is None
    spent = status["cost_usd"]
    assert spent <= cap
    assert fake_llm.max_in_flight >= 2  # calls (and their reservations) overlapped
    assert fake_llm.count() == status["completed"] > 0  # each call that started was stored
    # Both worker processes took part in the race (the claim names the worker).
    with session_scope(read_only=True) as session:
        claims = session.scalars(select(GenerationItem.worker).where(
            GenerationItem.task_id == task, GenerationItem.status == "completed")).all()
    assert {str(c).split("/")[0] for c in claims} == {first.hostname, second.hostname}
    # Nothing is left held, and the batch's counter is exactly its spend.
    assert _holds() == []
    assert budget.batch_spent(get_redis(), task) == pytest.approx(spent, abs=1e-6)

    # Raise the cap with PATCH and resume: it completes, still under the new cap.
    patched = api.patch(f"/api/tasks/{task}", json={"max_cost_usd": 100})
    assert patched.status_code == 200 and patched.json()["max_cost_usd"] == 100
    assert patched.json()["status"] == "paused"  # a PATCH alone does not resume
    resumed = api.post(f"/api/tasks/{task}/resume")
    assert resumed.status_code == 202, resumed.text
    final = wait_final(api, task, timeout=90)
    assert final["status"] == "completed" and final["completed"] == 24
    assert fake_llm.count() == 24 and final["cost_usd"] <= 100
    again = api.post(f"/api/tasks/{task}/resume")
    assert again.status_code == 409 and "not paused" in again.json()["detail"]


def test_the_cli_shows_the_pause_and_resumes_after_raising_the_cap(
        database, tmp_path, start_worker, fake_llm, llm_env):
    start_worker(concurrency=1, **{**llm_env, "OPENAI_MODEL": "gpt-4o-mini"})
    with running_api(database, tmp_path) as server:
        # A cap below one call's worst case: paused before any call.
        submitted = cli("generate", "--no-wait", "--json", "--max-cost", "0.0001",
                        "A capped title", url=server.url)
        assert submitted.returncode == 0, submitted.stderr
        task = json.loads(submitted.stdout)["task_id"]
        wait_for(lambda: http.get(f"{server.url}/api/tasks/{task}/status").json()["status"]
                 == "paused", timeout=30, message="the batch to pause")
        shown = cli("status", task, url=server.url)
        assert "paused: batch budget of $0.0001 is below one call's worst-case cost" in (
            " ".join(shown.stdout.split()))
        assert f"trustagency resume {task}" in shown.stdout
        refused = cli("resume", task, url=server.url)
        assert refused.returncode == 5 and "raise max_cost_usd" in refused.stderr
        assert fake_llm.count() == 0
        resumed = cli("resume", task, "--max-cost", "1", "--json", url=server.url)
        assert resumed.returncode == 0, resumed.stderr + resumed.stdout
        final = json.loads(resumed.stdout)
        assert final["status"] == "completed" and final["max_cost_usd"] == 1
        assert 0 < final["cost_usd"] <= 1 and fake_llm.count() == 1

        # Watching a batch that pauses stops there, says why and exits 1.
        watched = cli("generate", "--max-cost", "0.0001", "Another capped title",
                      url=server.url)
        assert watched.returncode == 1, watched.stderr + watched.stdout
        assert "paused: batch budget of $0.0001" in " ".join(watched.stdout.split())
