"""The shared rate limit learns from each call's own headers (issue 14), never from a provider
attribute that concurrent calls on a threads pool overwrite; failed calls' headers count too.

Real parts: the fake OpenAI-compatible server through the SDK, and the test session's Redis.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.core.redis import get_redis
from app.llm import ratelimit
from app.llm.base import ArticleRequest, LLMError
from app.llm.openai_provider import OpenAIProvider
from tests.support.fake_openai import Behavior, FakeOpenAI
from tests.support.stack import use_settings, wait_for

# The provider's request budget is spent for this call: every worker should wait 3 s.
SPENT = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"}


@pytest.fixture
def limited() -> Iterator[None]:
    use_settings(llm_rpm="6000")
    yield
    use_settings(llm_rpm="0")


def provider_for(srv: FakeOpenAI) -> OpenAIProvider:
    return OpenAIProvider(api_key="sk-test", base_url=srv.base_url, model="test-model",
                          timeout=10, max_tokens=500, temperature=0.7)


def pause_left() -> float:
    """Seconds every worker must still wait before its next call (0 when none)."""
    client = get_redis()
    pause = client.hget(ratelimit.KEY, "pause")
    seconds, micros = client.time()
    return max(0.0, (float(pause or 0) - (seconds * 1000 + micros / 1000)) / 1000)


def test_each_call_feeds_back_its_own_headers_not_the_latest_ones(fake_llm, limited):
    fake_llm.add_rule("Spent budget title", [Behavior(chunks=4, headers=SPENT)])
    provider = provider_for(fake_llm)  # one provider for both calls, as on a threads pool
    streaming, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold(size: int) -> None:  # the spent call stays open until the other one is done
        if size:
            streaming.set()
            release.wait(10)

    def spent_call() -> None:
        try:
            ratelimit.generate(provider, ArticleRequest("Spent budget title", "energy"), hold)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    thread = threading.Thread(target=spent_call)
    thread.start()
    try:
        assert streaming.wait(10), "the spent call never streamed"
        # A later call with a healthy budget ends first: its headers are the provider's latest.
        ratelimit.generate(provider, ArticleRequest("Healthy budget title", "energy"),
                           lambda size: None)
        assert pause_left() == 0, "a healthy reply paused the workers"
        assert provider.last_headers.get("x-ratelimit-remaining-requests") != "0"
    finally:
        release.set()
        thread.join(10)
    assert not failures, failures
    # The spent call is judged by its own reply, though another call's came in since.
    assert 1.5 < pause_left() <= 3.0


@pytest.mark.parametrize("kind", ["500", "cut"])
def test_a_failed_call_feeds_back_its_headers_too(fake_llm, limited, kind):
    fake_llm.add_rule("Failing budget title", [Behavior(kind, headers=SPENT)])
    with pytest.raises(LLMError) as failed:
        ratelimit.generate(provider_for(fake_llm),
                           ArticleRequest("Failing budget title", "energy"), lambda size: None)
    assert failed.value.retryable and failed.value.headers is not None
    wait_for(lambda: pause_left() > 1.5, timeout=1, message="the pause from the failed reply")
