"""Provider errors, hangs and time limits (issue 3, promises 3-4).

The fake OpenAI-compatible server answers each title by rule; the worker talks to it through the
official SDK. Every LLM request is counted at the server, so `attempts` on an item must equal the
requests the server saw for it: the SDK's own retries are off.
"""

from __future__ import annotations

from app.config import Settings
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior

RETRY_ENV = {"LLM_MAX_RETRIES": "2", "LLM_RETRY_BACKOFF": "0.5", "LLM_RETRY_BACKOFF_MAX": "4",
             "LLM_TIMEOUT": "1"}


def _calls(fake_llm, title: str) -> list:
    return sorted((r for r in fake_llm.requests if title in r.text), key=lambda r: r.started)


def _by_title(status: dict) -> dict[str, dict]:
    return {item["title"]: item for item in status["items"]}


def test_rate_limit_waits_for_retry_after_then_succeeds(api, start_worker, fake_llm, llm_env):
    fake_llm.add_rule("Throttled title", [Behavior("429", retry_after=1.5)])
    start_worker(concurrency=2, **llm_env)
    batch = submit(api, ["Throttled title", "Calm title"])
    status = wait_final(api, batch["task_id"])

    assert status["status"] == "completed"
    items = _by_title(status)
    assert items["Throttled title"]["attempts"] == 2 and items["Calm title"]["attempts"] == 1
    first, second = _calls(fake_llm, "Throttled title")
    assert (first.status, second.status) == (429, 200)
    assert second.started - first.ended >= 1.5, "the retry did not wait for Retry-After"


def test_server_errors_timeouts_and_dropped_connections_back_off_then_fail(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.add_rule("Broken server title", ["500"], then=Behavior("500"))
    fake_llm.add_rule("Overloaded title", ["503", "503"])  # then the default: success
    fake_llm.add_rule("Hanging title", ["hang"], then=Behavior("hang"))
    fake_llm.add_rule("Dropped title", ["disconnect"], then=Behavior("disconnect"))
    start_worker(concurrency=3, **llm_env, **RETRY_ENV)
    titles = ["Broken server title", "Overloaded title", "Hanging title", "Dropped title",
              "Healthy title"]
    batch = submit(api, titles)
    status = wait_final(api, batch["task_id"], timeout=90)

    assert status["status"] == "partially_completed"
    assert (status["completed"], status["failed"]) == (2, 3)
    items = _by_title(status)
    for title in titles:  # one request per counted attempt: nobody retried behind our back
        assert len(_calls(fake_llm, title)) == items[title]["attempts"], title
    assert items["Overloaded title"]["status"] == "completed"
    assert items["Overloaded title"]["attempts"] == 3
    assert items["Healthy title"]["attempts"] == 1
    reasons = {
        "Broken server title": "The server had an error while processing your request (fake)",
        "Hanging title": "timed out",
        "Dropped title": "connection",
    }
    for title, reason in reasons.items():
        item = items[title]
        assert item["status"] == "failed" and item["attempts"] == 3, item
        assert item["error"].startswith("gave up after 3 attempts"), item["error"]
        assert reason in item["error"], item["error"]
    # Exponential backoff with jitter: waits of [0.25, 0.5] then [0.5, 1] seconds.
    calls = _calls(fake_llm, "Broken server title")
    gaps = [b.started - a.ended for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.25 and gaps[1] >= 0.5, gaps


def test_rejected_requests_are_not_retried(api, start_worker, fake_llm, llm_env):
    rules = {
        "Invalid request title": ("400", "400: Invalid request (fake)."),
        "Wrong key title": ("401", "401: Incorrect API key provided (fake)."),
        "Forbidden title": ("403", "403: Request forbidden (fake)."),
        "Out of quota title": ("429_quota", "quota exhausted: 429: You exceeded your current "
                                            "quota (fake)."),
    }
    for title, (kind, _) in rules.items():
        fake_llm.add_rule(title, [kind], then=Behavior(kind))
    start_worker(concurrency=2, **llm_env, **RETRY_ENV)
    batch = submit(api, list(rules))
    status = wait_final(api, batch["task_id"])

    assert status["status"] == "failed" and status["failed"] == 4
    for title, (_, message) in rules.items():
        item = _by_title(status)[title]
        assert item["attempts"] == 1 and len(_calls(fake_llm, title)) == 1, item
        assert item["error"] == f"PermanentError: {message}", item["error"]


def test_hung_provider_times_out_and_is_retried_while_the_batch_goes_on(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.add_rule("Hangs once title", ["hang"])  # then the default: success
    start_worker(concurrency=2, **llm_env, **RETRY_ENV)
    titles = ["Hangs once title", "Quick title one", "Quick title two"]
    batch = submit(api, titles)
    status = wait_final(api, batch["task_id"])

    assert status["status"] == "completed"
    hung, retried = _calls(fake_llm, "Hangs once title")
    assert hung.status is None and retried.status == 200  # the hang was cut by our timeout
    assert _by_title(status)["Hangs once title"]["attempts"] == 2
    # The other titles did not wait for the hang to end.
    assert all(_calls(fake_llm, t)[0].ended < hung.ended for t in titles[1:])


def test_llm_timeout_stays_below_the_soft_time_limit():
    settings = Settings(llm_timeout=10_000, celery_task_soft_time_limit=60,
                        celery_task_time_limit=90)
    assert settings.llm_request_timeout == 48.0  # 80 % of the soft limit
    assert Settings(llm_timeout=30, celery_task_soft_time_limit=60,
                    celery_task_time_limit=90).llm_request_timeout == 30.0


def test_soft_time_limit_fails_the_item_with_a_reason(api, start_worker, fake_llm, llm_env):
    # 0.7 s between chunks: under the client timeout, so only the time limit can stop it.
    fake_llm.add_rule("Endless essay title", [Behavior(latency=14, chunks=20)])
    start_worker(concurrency=2, **llm_env, CELERY_TASK_SOFT_TIME_LIMIT="2",
                 CELERY_TASK_TIME_LIMIT="4")
    batch = submit(api, ["Endless essay title", "Short note title"])
    status = wait_final(api, batch["task_id"])

    assert status["status"] == "partially_completed"
    slow = _by_title(status)["Endless essay title"]
    assert slow["status"] == "failed" and "time limit" in slow["error"], slow
    assert slow["attempts"] == 1 and slow["article_id"] is None
    (call,) = _calls(fake_llm, "Endless essay title")
    assert call.aborted, "the stream kept running past the time limit"
    assert _by_title(status)["Short note title"]["status"] == "completed"
