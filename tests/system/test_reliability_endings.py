"""How a stream ends decides what is stored (issue 14): only a whole answer is an article.

A real worker streams from the fake OpenAI-compatible server through the openai SDK; the server
ends each title's answers the way real servers misbehave (a proxy closing the stream early,
llama.cpp's `[DONE]` without a finish_reason, the content filter, the token limit, an empty
answer, no usage, a reasoning model). Every request is counted at the server, so an item's
`attempts` must equal the requests made for it.
"""

from __future__ import annotations

from sqlalchemy import select

from app.articles.models import Article
from app.core.db import session_scope
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import use_settings
from tests.system.test_ops_metrics import scrape, value

ENV = {"LLM_MAX_RETRIES": "2"}  # three attempts at most for a transient error

# title: (its answers, then what it gets from then on; None = the default whole answer)
ENDINGS: dict[str, tuple[list[Behavior | str], Behavior | None]] = {
    "Cut stream title": (["cut"], None),
    "Llama cut title": (["done_no_finish"], None),
    "Always cut title": (["done_no_finish"], Behavior("done_no_finish")),
    "Filtered title": (["content_filter"], Behavior("content_filter")),
    "No usage title": ([Behavior(usage=False)], Behavior(usage=False)),
    "Too long title": (["length"], Behavior("length")),
    "Empty title": (["empty"], Behavior("empty")),
    "Empty once title": (["empty"], None),
    "Whole answer title": ([], None),
}


def _calls(fake_llm, title: str) -> list:
    return sorted((r for r in fake_llm.requests if title in r.text), key=lambda r: r.started)


def _stored(batch_id: str) -> dict[str, Article]:
    with session_scope() as session:
        rows = session.scalars(select(Article).where(Article.task_id == batch_id)).all()
        return {a.title: a for a in rows}


def test_only_a_whole_answer_is_stored_and_each_ending_gets_its_policy(
    api, start_worker, fake_llm, llm_env, tmp_path
):
    prom_dir = tmp_path / "prometheus"
    for title, (answers, then) in ENDINGS.items():
        fake_llm.add_rule(title, answers, then=then)
    start_worker(concurrency=3, prometheus_multiproc_dir=str(prom_dir), **llm_env, **ENV)
    batch = submit(api, list(ENDINGS))
    status = wait_final(api, batch["task_id"], timeout=90)

    assert (status["status"], status["completed"], status["failed"]) == (
        "partially_completed", 6, 3)
    items = {item["title"]: item for item in status["items"]}
    for title, item in items.items():  # nobody retried behind the runner's back
        assert len(_calls(fake_llm, title)) == item["attempts"], (title, item)
    attempts = {title: (item["status"], item["attempts"]) for title, item in items.items()}
    assert attempts == {
        "Cut stream title": ("completed", 2),  # cut stream: retried, then stored whole
        "Llama cut title": ("completed", 2),
        "Always cut title": ("failed", 3),  # never stored, however often it is cut
        "Filtered title": ("failed", 1),  # the content filter: one attempt
        "No usage title": ("completed", 1),
        "Too long title": ("completed", 1),  # the token limit: kept for review, flagged
        "Empty title": ("failed", 2),  # an empty answer: one retry at most
        "Empty once title": ("completed", 2),
        "Whole answer title": ("completed", 1),
    }
    errors = {title: item["error"] for title, item in items.items() if item["error"]}
    assert errors["Always cut title"].startswith("gave up after 3 attempts: StreamCut: the "
                                                 "stream ended without a finish_reason")
    assert errors["Filtered title"] == (
        "ContentFiltered: the provider's content filter refused this title")
    assert errors["Empty title"].startswith("gave up after 2 attempts: EmptyAnswer: the "
                                            "provider returned an empty answer")
    assert set(errors) == {"Always cut title", "Filtered title", "Empty title"}

    stored = _stored(batch["task_id"])
    assert set(stored) == {t for t, (s, _) in attempts.items() if s == "completed"}
    # A `length` cut is never a finished article: it waits for review, flagged `truncated`.
    truncated = stored.pop("Too long title")
    assert truncated.status == "needs_review" and truncated.finish_reason == "length"
    assert [f["name"] for f in truncated.quality_flags or []] == ["truncated"]
    for title, article in stored.items():
        # The whole answer: the fake's article ends with its conclusion; half of it does not.
        assert "## Conclusion" in article.content and article.content.endswith("."), title
        assert article.finish_reason == "stop", title
        assert article.tokens_estimated is (title == "No usage title"), title
        assert article.prompt_tokens > 0 and article.completion_tokens > 0, title
    # No usage from the server: estimated, marked so, and said so by the API.
    shown = {a["title"]: a for a in api.get(
        "/api/articles", params={"task_id": batch["task_id"]}).json()["items"]}
    assert shown["No usage title"]["tokens_estimated"] is True
    assert shown["Whole answer title"]["tokens_estimated"] is False

    # Metrics by the error classes' labels: a small fixed set.
    use_settings(prometheus_multiproc_dir=str(prom_dir))
    try:
        samples = scrape(api)
    finally:
        use_settings(prometheus_multiproc_dir=None)
    llm = {"provider": "openai-compatible", "model": "test-model"}
    outcomes = {outcome: value(samples, "trustagency_llm_request_duration_seconds_count",
                               **llm, outcome=outcome)
                for outcome in ("ok", "stream_cut", "content_filter", "truncated", "empty")}
    assert outcomes == {"ok": 5, "stream_cut": 5, "content_filter": 1, "truncated": 1,
                        "empty": 3}
    retries = {label: value(samples, "trustagency_llm_retries_total", error_class=label)
               for label in ("stream_cut", "empty", "content_filter", "truncated")}
    assert retries == {"stream_cut": 4, "empty": 2, "content_filter": 0, "truncated": 0}


def test_a_reasoning_model_works(api, start_worker, fake_llm, llm_env):
    # The server refuses max_tokens and any temperature but 1 for o-series and gpt-5 models
    # (OpenAI's 400 "unsupported parameter"); the worker sends what the model accepts.
    fake_llm.reasoning = True
    titles = ["Reasoning title one", "Reasoning title two", "Reasoning title three"]
    start_worker(concurrency=2, **{**llm_env, "OPENAI_MODEL": "o4-mini"})
    status = wait_final(api, submit(api, titles)["task_id"])

    assert status["status"] == "completed"
    assert all(item["attempts"] == 1 for item in status["items"]), status["items"]
    for title in titles:
        (call,) = _calls(fake_llm, title)
        assert call.status == 200 and call.model == "o4-mini"
        assert "max_tokens" not in call.params and "temperature" not in call.params
        assert call.params["max_completion_tokens"] > 0
