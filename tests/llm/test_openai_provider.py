"""OpenAIProvider against the fake OpenAI-compatible server, through the real openai SDK.

Only a whole answer (finish_reason "stop") is an article; every other ending raises its own
error class, and reasoning models get the parameters they accept (issue 14, items 1 and 2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.llm.base import (
    ArticleRequest,
    ContentFiltered,
    EmptyAnswer,
    Generated,
    LLMError,
    PermanentError,
    RateLimited,
    StreamCut,
    TransientError,
    Truncated,
)
from app.llm.openai_provider import OpenAIProvider, is_reasoning_model
from app.llm.prompt import build_messages
from app.llm.tokens import estimate_messages, estimate_text
from tests.support.fake_openai import Behavior, FakeOpenAI, Record

REQUEST = ArticleRequest(title="Tidal power", category="energy")


def provider_for(srv: FakeOpenAI, model: str = "test-model", **kw: Any) -> OpenAIProvider:
    return OpenAIProvider(api_key="sk-test", base_url=srv.base_url, model=model, timeout=5,
                          max_tokens=1500, temperature=0.7, **kw)


class Sizes(list[int]):
    """A checkpoint that keeps the streamed sizes it was called with."""

    def __call__(self, size: int) -> None:
        self.append(size)


@pytest.fixture
def srv(fake_llm: FakeOpenAI) -> FakeOpenAI:
    return fake_llm


def records(srv: FakeOpenAI) -> list[Record]:
    """The server's records once its handlers are done (a client can finish reading first)."""
    deadline = time.monotonic() + 5
    while srv.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    return srv.requests


def generate(provider: OpenAIProvider, request: ArticleRequest = REQUEST,
             sizes: Sizes | None = None) -> Generated:
    return provider.generate(request, sizes if sizes is not None else Sizes())


# -- a whole answer ------------------------------------------------------------------------
def test_a_whole_answer_is_an_article_with_its_own_headers(srv: FakeOpenAI) -> None:
    provider = provider_for(srv)
    got = generate(provider)
    assert got.content.startswith("---\nseo_title:")  # the SEO block first (app/llm/prompt.py)
    assert got.finish_reason == "stop" and not got.tokens_estimated
    assert got.prompt_tokens > 0 and got.completion_tokens > 0
    assert got.headers is not None and got.headers["x-request-id"] == "req_fake_1"
    assert provider.last_headers["x-request-id"] == "req_fake_1"  # still filled, for now
    [rec] = records(srv)
    assert rec.params["max_tokens"] == 1500 and rec.params["temperature"] == 0.7
    assert "max_completion_tokens" not in rec.params


# -- answers that are not articles ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["cut", "done_no_finish", "disconnect"])
def test_a_stream_that_stops_early_is_a_stream_cut(srv: FakeOpenAI, kind: str) -> None:
    srv.default = Behavior(kind)
    sizes = Sizes()
    with pytest.raises(StreamCut) as err:
        generate(provider_for(srv), sizes=sizes)
    assert max(sizes) > 0, "part of the article arrived before the stream stopped"
    assert isinstance(err.value, TransientError) and err.value.retryable
    assert err.value.label == "stream_cut" and err.value.max_attempts is None
    assert records(srv)[0].status == 200


def test_content_filter_is_permanent_with_a_readable_reason(srv: FakeOpenAI) -> None:
    srv.default = Behavior("content_filter")
    with pytest.raises(ContentFiltered) as err:
        generate(provider_for(srv))
    assert str(err.value) == "the provider's content filter refused this title"
    assert isinstance(err.value, PermanentError) and not err.value.retryable
    assert err.value.label == "content_filter"


def test_a_refusal_is_treated_as_the_content_filter(srv: FakeOpenAI) -> None:
    srv.default = Behavior("refusal")
    with pytest.raises(ContentFiltered) as err:
        generate(provider_for(srv))
    assert str(err.value).startswith("the provider's content filter refused this title")
    assert err.value.refusal and "can't help" in err.value.refusal
    assert not err.value.retryable


def test_length_is_truncated_naming_the_setting_and_keeping_the_text(srv: FakeOpenAI) -> None:
    srv.default = Behavior("length")
    with pytest.raises(Truncated) as err:
        generate(provider_for(srv))
    exc = err.value
    assert "LLM_MAX_TOKENS" in str(exc) and "1500" in str(exc)
    assert not exc.retryable and exc.label == "truncated"
    assert exc.partial.startswith("---\nseo_title:") and len(exc.partial) > 100
    assert exc.generated is not None and exc.generated.finish_reason == "length"
    assert exc.generated.content == exc.partial and exc.generated.completion_tokens > 0


def test_an_empty_answer_gets_one_retry_at_most(srv: FakeOpenAI) -> None:
    srv.default = Behavior("empty")
    with pytest.raises(EmptyAnswer) as err:
        generate(provider_for(srv))
    assert err.value.retryable and err.value.max_attempts == 2
    assert err.value.label == "empty"


def test_every_error_class_has_a_stable_label() -> None:
    labels = {cls: cls.label for cls in (RateLimited, TransientError, StreamCut, EmptyAnswer,
                                         PermanentError, ContentFiltered, Truncated)}
    assert labels == {RateLimited: "rate_limited", TransientError: "transient",
                      StreamCut: "stream_cut", EmptyAnswer: "empty",
                      PermanentError: "permanent", ContentFiltered: "content_filter",
                      Truncated: "truncated"}
    assert [cls for cls in labels if cls.max_attempts is not None] == [EmptyAnswer]
    assert LLMError.max_attempts is None


# -- usage ---------------------------------------------------------------------------------
def test_no_usage_means_estimated_tokens(srv: FakeOpenAI) -> None:
    srv.default = Behavior(usage=False)
    got = generate(provider_for(srv))
    assert got.tokens_estimated
    assert got.prompt_tokens == estimate_messages(build_messages(REQUEST)) > 0
    assert got.completion_tokens == estimate_text(got.content) > 0


# -- reasoning models -----------------------------------------------------------------------
@pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini",
                                   "openai/o3"])
def test_auto_sends_what_a_reasoning_model_accepts(srv: FakeOpenAI, model: str) -> None:
    srv.reasoning = True
    got = generate(provider_for(srv, model))
    assert got.finish_reason == "stop" and got.content
    [rec] = records(srv)
    assert rec.status == 200 and rec.params["max_completion_tokens"] == 1500
    assert "max_tokens" not in rec.params and "temperature" not in rec.params


@pytest.mark.parametrize("model", ["gpt-4o-mini", "llama3", "ollama/gemma3", "orca-mini"])
def test_auto_keeps_max_tokens_and_temperature_for_other_models(model: str) -> None:
    assert not is_reasoning_model(model)


def test_a_model_that_refuses_is_learned_once(srv: FakeOpenAI) -> None:
    srv.reasoning = r"^thinker"  # a name the auto rule does not know
    provider = provider_for(srv, "thinker-1")
    assert generate(provider).content
    first = records(srv)
    assert [r.status for r in first] == [400, 400, 200]  # max_tokens, then temperature
    assert "max_tokens" in first[0].params and "temperature" in first[1].params
    srv.reset()
    assert generate(provider).content
    [rec] = records(srv)
    assert rec.status == 200 and rec.params["max_completion_tokens"] == 1500
    assert "max_tokens" not in rec.params and "temperature" not in rec.params
    # Learned for that model only: another one still gets the usual parameters.
    assert generate(provider, ArticleRequest("Tidal power", "energy", model="gpt-4o")).content
    assert records(srv)[-1].params["max_tokens"] == 1500


def test_learning_is_safe_under_concurrent_calls(srv: FakeOpenAI) -> None:
    srv.reasoning = r"^thinker"
    provider = provider_for(srv, "thinker-2")
    start = threading.Barrier(6)
    results: list[object] = []

    def call() -> None:
        start.wait()
        try:
            results.append(generate(provider))
        except LLMError as exc:
            results.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 6 and all(isinstance(r, Generated) for r in results), results
    srv.reset()
    generate(provider)
    assert [r.status for r in records(srv)] == [200]


def test_an_explicit_setting_is_not_overridden(srv: FakeOpenAI) -> None:
    srv.reasoning = True
    with pytest.raises(PermanentError) as err:
        generate(provider_for(srv, "o3", token_parameter="max_tokens"))
    assert "LLM_TOKEN_PARAMETER=max_tokens" in str(err.value) and err.value.status == 400
    assert [r.status for r in records(srv)] == [400]


def test_the_temperature_setting_forces_either_way(srv: FakeOpenAI) -> None:
    generate(provider_for(srv, send_temperature="false"))
    generate(provider_for(srv, "o3", send_temperature="true",
                          token_parameter="max_completion_tokens"))
    first, second = records(srv)
    assert "temperature" not in first.params and first.params["max_tokens"] == 1500
    assert second.params["temperature"] == 0.7 and second.params["max_completion_tokens"] == 1500


# -- per-call overrides ---------------------------------------------------------------------
def test_the_request_overrides_model_temperature_and_max_tokens(srv: FakeOpenAI) -> None:
    request = ArticleRequest("Tidal power", "energy", model="gpt-4o", temperature=0.2,
                             max_tokens=300, extra_instructions="Use British spelling.")
    got = generate(provider_for(srv), request)
    assert got.model == "gpt-4o"
    [rec] = records(srv)
    assert rec.model == "gpt-4o"
    assert rec.params["temperature"] == 0.2 and rec.params["max_tokens"] == 300


def test_a_request_for_a_reasoning_model_gets_its_parameters(srv: FakeOpenAI) -> None:
    srv.reasoning = True
    generate(provider_for(srv), ArticleRequest("Tidal power", "energy", model="o3",
                                               temperature=0.2, max_tokens=300))
    [rec] = records(srv)
    assert rec.status == 200 and rec.params["max_completion_tokens"] == 300
    assert "temperature" not in rec.params


def test_a_truncation_under_a_request_limit_names_that_limit(srv: FakeOpenAI) -> None:
    srv.default = Behavior("length")
    with pytest.raises(Truncated, match=r"\(300, "):
        generate(provider_for(srv), ArticleRequest("Tidal power", "energy", max_tokens=300))


# -- settings ------------------------------------------------------------------------------
@pytest.fixture
def fresh_settings() -> Iterator[None]:
    from app.config import get_settings
    from app.llm import get_provider

    get_settings.cache_clear()
    get_provider.cache_clear()
    yield
    get_settings.cache_clear()
    get_provider.cache_clear()


def test_get_provider_passes_the_new_settings(
    srv: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    from app.llm import get_provider

    monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
    monkeypatch.setenv("LLM_TOKEN_PARAMETER", "max_completion_tokens")
    monkeypatch.setenv("LLM_SEND_TEMPERATURE", "False")
    provider = get_provider()
    assert isinstance(provider, OpenAIProvider)
    assert (provider.token_parameter, provider.send_temperature) == (
        "max_completion_tokens", "false")


def test_settings_reject_unknown_choices() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    assert Settings(_env_file=None).llm_token_parameter == "auto"  # type: ignore[call-arg]
    assert Settings(_env_file=None).llm_send_temperature == "auto"  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, llm_token_parameter="max")  # type: ignore[call-arg,arg-type]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, llm_send_temperature="maybe")  # type: ignore[call-arg,arg-type]
