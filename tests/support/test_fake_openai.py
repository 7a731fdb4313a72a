"""The fake provider must look like OpenAI to the official SDK, or worker tests prove nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.support.fake_openai import Behavior, FakeOpenAI

PROMPT = "Write about tidal power\nBe brief."
MSG: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def srv(server: FakeOpenAI) -> FakeOpenAI:
    server.reset()
    return server


@pytest.fixture
def client(srv: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, timeout=5)


def _wait_for(cond: Callable[[], bool], timeout: float = 3) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_non_streaming_returns_markdown_and_usage(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(model="m-1", messages=MSG)
    assert (resp.choices[0].message.content or "").startswith("# Write about tidal power\n\n")
    assert resp.model == "m-1" and resp.usage and resp.usage.total_tokens > 0
    [rec] = srv.requests
    assert rec.status == 200 and not rec.stream and rec.text == PROMPT
    assert rec.headers["authorization"] == "Bearer sk-test"
    assert [m.id for m in client.models.list()]


def test_streaming_gets_content_then_usage(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.default = Behavior(chunks=5)
    chunks = list(client.chat.completions.create(
        model="m", messages=MSG, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("# Write about tidal power") and text.count("\n\n") == 5
    assert chunks[-1].usage and chunks[-1].usage.completion_tokens > 0
    plain = list(client.chat.completions.create(model="m", messages=MSG, stream=True))
    assert plain and all(c.usage is None for c in plain)


def test_rate_limit_then_success(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.add_rule("tidal", [Behavior("429", retry_after=1)])
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="m", messages=MSG)
    assert err.value.response.headers["retry-after"] == "1"
    assert client.chat.completions.create(model="m", messages=MSG).choices
    assert srv.count("tidal") == 2 and [r.status for r in srv.requests] == [429, 200]


@pytest.mark.parametrize(
    ("kind", "exc", "code"),
    [("500", openai.InternalServerError, None), ("503", openai.InternalServerError, None),
     ("400", openai.BadRequestError, None), ("401", openai.AuthenticationError, "invalid_api_key"),
     ("403", openai.PermissionDeniedError, "unsupported_region"),
     ("429_quota", openai.RateLimitError, "insufficient_quota")],
)
def test_errors_map_to_sdk_classes(
    srv: FakeOpenAI, client: openai.OpenAI, kind: str, exc: type[openai.APIStatusError],
    code: str | None,
) -> None:
    srv.default = Behavior(kind)
    with pytest.raises(exc) as err:
        client.chat.completions.create(model="m", messages=MSG)
    assert err.value.code == code


def test_hang_times_out_quickly_and_is_seen_as_aborted(
    srv: FakeOpenAI, client: openai.OpenAI
) -> None:
    srv.default = Behavior("hang")
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.5).chat.completions.create(model="m", messages=MSG)
    assert time.monotonic() - t0 < 2
    _wait_for(lambda: srv.in_flight == 0)
    assert srv.requests[0].aborted


def test_closing_a_stream_early_marks_the_record_aborted(
    srv: FakeOpenAI, client: openai.OpenAI
) -> None:
    srv.default = Behavior(latency=2, chunks=8)
    stream = client.chat.completions.create(model="m", messages=MSG, stream=True)
    next(iter(stream))
    stream.close()
    _wait_for(lambda: srv.in_flight == 0)
    [rec] = srv.requests
    assert rec.aborted and rec.ended is not None and rec.ended - rec.started < 1


def test_disconnect_mid_stream_is_a_connection_error(
    srv: FakeOpenAI, client: openai.OpenAI
) -> None:
    srv.default = Behavior("disconnect")
    with pytest.raises(openai.APIConnectionError):
        list(client.chat.completions.create(model="m", messages=MSG, stream=True))
    assert not srv.requests[0].aborted


def test_stop_ends_a_hang_promptly() -> None:
    srv = FakeOpenAI(default=Behavior("hang")).start()
    client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, timeout=10)
    t0 = time.monotonic()
    threading.Timer(0.3, srv.stop).start()
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MSG)
    assert time.monotonic() - t0 < 2
