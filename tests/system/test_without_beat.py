"""The plan's worker + API and no beat (issue 19): only cron schedules need beat. A batch in
`mode: "batch"` is polled to its end and a batch a daily cap paused resumes when the window
rolls over, both by the workers' maintenance loop (app/worker/loop.py). Real workers, the fake
OpenAI-compatible server's Batch API and chat completions; no beat process is started."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from tests.support.api_helpers import wait_final
from tests.support.fake_batches import BatchBehavior
from tests.support.fake_openai import Behavior
from tests.support.stack import wait_for

# As in tests/system/test_budgets.py: each guide answer is cut at 1100 tokens (the fake honours
# max_tokens), so an article costs about $1.14 and a call reserves about $1.16.
PRICES = json.dumps({"test-model": {"input": 100, "output": 1000}})
MAX_TOKENS = 1100
WINDOW = 12  # seconds: the daily cap's window in the budget test


def _submit(api, titles: list[str], **body: object) -> str:
    response = api.post("/api/tasks/generate-articles",
                        json={"titles": titles, "category": "guide", **body})
    assert response.status_code == 202, response.text
    return response.json()["task_id"]


def _status(api, task_id: str) -> dict:
    return api.get(f"/api/tasks/{task_id}/status").json()


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def test_a_batch_mode_batch_completes_with_no_beat(api, start_worker, fake_llm, llm_env):
    fake_llm.batches.behavior = BatchBehavior(in_progress=1.0, finalizing=0.2)
    start_worker(concurrency=2, BATCH_POLL_SECONDS="0.5",
                 **{**llm_env, "OPENAI_MODEL": "gpt-4o-mini"})
    task = _submit(api, [f"Beatless lane title {i}" for i in range(6)], mode="batch")

    status = wait_final(api, task, timeout=60)
    assert status["status"] == "completed" and status["completed"] == 6
    assert [(p["status"], p["completed"]) for p in status["provider_batches"]] == [
        ("completed", 6)]
    articles = api.get("/api/articles", params={"task_id": task}).json()["items"]
    assert sorted(a["lane"] for a in articles) == ["batch"] * 6
    assert fake_llm.count() == 0  # every answer came from the provider batch, none in real time


def test_a_batch_paused_by_the_daily_cap_resumes_when_the_window_rolls_over(
        api, start_worker, fake_llm, llm_env):
    fake_llm.honor_max_tokens = True
    fake_llm.default = Behavior(latency=0.05, chunks=4)
    cap = 2.5  # two articles in a window ($2.28), not a third call's worst case on top
    start_worker(concurrency=1, BUDGET_DAILY_USD=str(cap),
                 BUDGET_DAILY_WINDOW_SECONDS=str(WINDOW), LLM_PRICES=PRICES,
                 LLM_MAX_TOKENS=str(MAX_TOKENS), **llm_env)
    # Submit as a window starts, so that its two articles and the pause all fall in it.
    wait_for(lambda: time.time() % WINDOW < 1, timeout=WINDOW + 1, message="a window to start")
    task = _submit(api, [f"Beatless budget title {i}" for i in range(4)])

    paused = wait_for(lambda: (s := _status(api, task))["status"] == "paused" and s,
                      timeout=WINDOW, message="the daily cap to pause the batch")
    resume_at = _when(paused["resume_at"])
    assert paused["completed"] == 2 and fake_llm.count() == 2
    assert paused["paused_reason"] == (f"daily budget of $2.50 reached; resumes at "
                                       f"{resume_at:%H:%M:%S} UTC")
    assert resume_at.timestamp() % WINDOW == 0  # the next window's start

    # Nobody calls /resume and no beat runs: the workers resume it once the window rolled over.
    final = wait_final(api, task, timeout=WINDOW + 30)
    assert final["status"] == "completed" and final["completed"] == 4
    assert final["paused_reason"] is None and final["resume_at"] is None
    assert fake_llm.count() == 4 and all(i["attempts"] == 1 for i in final["items"])
    written_after = [i for i in final["items"] if _when(i["finished_at"]) >= resume_at]
    assert len(written_after) == 2  # the last two, in the new window
    assert 2 * cap >= final["cost_usd"] > cap
