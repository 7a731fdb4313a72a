"""The fake server's answer endings look, to the openai SDK, like the real servers' do."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from tests.support.fake_openai import Behavior, FakeOpenAI

MSG: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Write about tidal power"}]


@pytest.fixture
def client(fake_llm: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake_llm.base_url, api_key="sk-test", max_retries=0, timeout=5)


def chunks(client: openai.OpenAI, **kw: Any) -> list[ChatCompletionChunk]:
    return list(client.chat.completions.create(
        model=kw.pop("model", "m"), messages=MSG, stream=True,
        stream_options={"include_usage": True}, **kw))


def text_and_finish(got: list[ChatCompletionChunk]) -> tuple[str, list[str]]:
    text = "".join(c.choices[0].delta.content or "" for c in got if c.choices)
    return text, [c.choices[0].finish_reason for c in got if c.choices and
                  c.choices[0].finish_reason]


def pieces(got: list[ChatCompletionChunk]) -> int:
    """Content chunks received (whatever text the fake writes)."""
    return sum(1 for c in got if c.choices and c.choices[0].delta.content)


def raw_stream(srv: FakeOpenAI) -> bytes:
    """The HTTP response bytes of one streamed request (no SDK in between)."""
    body = json.dumps({"model": "m", "messages": MSG, "stream": True}).encode()
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        data = b""
        while part := sock.recv(65536):
            data += part
    return data


def test_ok_ends_with_stop_and_done(fake_llm: FakeOpenAI, client: openai.OpenAI) -> None:
    text, finishes = text_and_finish(got := chunks(client))
    assert text and finishes == ["stop"] and got[-1].usage is not None
    assert b"data: [DONE]" in raw_stream(fake_llm)


def test_cut_ends_the_body_cleanly_halfway(fake_llm: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_llm.default = Behavior("cut", chunks=8)
    text, finishes = text_and_finish(got := chunks(client))  # no error: nothing says it is early
    assert text and pieces(got) == 4 and finishes == [] and got[-1].usage is None
    raw = raw_stream(fake_llm)
    assert raw.endswith(b"\r\n0\r\n\r\n") and b"[DONE]" not in raw


def test_done_without_finish_reason(fake_llm: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_llm.default = Behavior("done_no_finish", chunks=8)
    text, finishes = text_and_finish(got := chunks(client))
    assert text and pieces(got) == 4 and finishes == []
    assert b"data: [DONE]" in raw_stream(fake_llm)


@pytest.mark.parametrize(("kind", "finish"), [("content_filter", "content_filter"),
                                              ("empty", "stop"), ("refusal", "stop")])
def test_endings_with_no_text(client: openai.OpenAI, fake_llm: FakeOpenAI, kind: str,
                              finish: str) -> None:
    fake_llm.default = Behavior(kind)
    got = chunks(client)
    text, finishes = text_and_finish(got)
    assert text == "" and finishes == [finish]
    refusal = "".join(c.choices[0].delta.refusal or "" for c in got if c.choices)
    assert bool(refusal) is (kind == "refusal")
    usage = got[-1].usage
    assert usage is not None and usage.completion_tokens == 0


def test_length_sends_the_text_then_length(fake_llm: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_llm.default = Behavior("length", chunks=6)
    text, finishes = text_and_finish(got := chunks(client))
    assert text and pieces(got) == 6 and finishes == ["length"]


def test_non_streaming_endings(fake_llm: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_llm.default = Behavior("length")
    [choice] = client.chat.completions.create(model="m", messages=MSG).choices
    assert choice.finish_reason == "length" and choice.message.content
    fake_llm.default = Behavior("refusal", usage=False)
    resp = client.chat.completions.create(model="m", messages=MSG)
    assert resp.choices[0].message.refusal and resp.choices[0].message.content is None
    assert resp.usage is None
    fake_llm.default = Behavior("cut")
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MSG)


def test_no_usage_even_when_asked(fake_llm: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_llm.default = Behavior(usage=False)
    got = chunks(client)
    assert text_and_finish(got)[1] == ["stop"] and all(c.usage is None for c in got)


def test_reasoning_models_refuse_like_openai(fake_llm: FakeOpenAI,
                                             client: openai.OpenAI) -> None:
    fake_llm.reasoning = True
    with pytest.raises(openai.BadRequestError) as err:
        chunks(client, model="o3-mini", max_tokens=100)
    assert err.value.code == "unsupported_parameter" and err.value.param == "max_tokens"
    assert "Use 'max_completion_tokens' instead" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        chunks(client, model="gpt-5", max_completion_tokens=100, temperature=0.7)
    assert err.value.code == "unsupported_value" and err.value.param == "temperature"
    assert text_and_finish(chunks(client, model="o1", max_completion_tokens=100,
                                  temperature=1))[0]
    assert text_and_finish(chunks(client, model="gpt-4o", max_tokens=100, temperature=0.7))[0]
    deadline = time.monotonic() + 5  # a handler records its status after the client has read
    while fake_llm.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    statuses = [(r.model, r.status, "max_tokens" in r.params) for r in fake_llm.requests]
    assert statuses[:2] == [("o3-mini", 400, True), ("gpt-5", 400, False)]
    assert fake_llm.requests[2].params["max_completion_tokens"] == 100


def test_reasoning_can_be_a_pattern_of_its_own(fake_llm: FakeOpenAI,
                                               client: openai.OpenAI) -> None:
    fake_llm.reasoning = r"^thinker"
    assert text_and_finish(chunks(client, model="o3", max_tokens=100))[0]
    with pytest.raises(openai.BadRequestError):
        chunks(client, model="thinker-1", max_tokens=100)
    fake_llm.reasoning = False
    assert text_and_finish(chunks(client, model="thinker-1", max_tokens=100))[0]
