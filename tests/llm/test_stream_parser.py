"""The lean stream reader (app/llm/stream.py) reads every stream as the openai SDK's own does.

Each stream the fake server can send (every answering kind, with and without usage, from a
reasoning model, broken, timed out, with an error event, in every framing) is read twice: once
through the SDK's ``ChatCompletionChunk`` objects, once through ``read_stream``; what a provider
keeps (text, refusal, finish reason, usage, model, the error raised) must be the same.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from app.articles import seo
from app.llm.base import ArticleRequest, StreamCut
from app.llm.openai_provider import OpenAIProvider
from app.llm.stream import MalformedEvent, StreamReader, StreamResult, read_stream
from tests.support.fake_openai import FRAMINGS, Behavior, FakeOpenAI

MSG: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Write about tidal power"}]
# Non-ASCII, quotes, backslashes and newlines: JSON escapes, and UTF-8 split across reads.
UNICODE = 'Tidal “power” — 潮汐能 🌊 says "Ana"\\n\nline two, \\ and é\r\n… done.'

BEHAVIOURS: dict[str, Behavior] = {
    "ok": Behavior(),
    "ok_64_chunks": Behavior(chunks=64),
    "unicode_text": Behavior("text", text=UNICODE, chunks=12),
    "cut": Behavior("cut"),
    "done_no_finish": Behavior("done_no_finish"),
    "disconnect": Behavior("disconnect"),
    "content_filter": Behavior("content_filter"),
    "length": Behavior("length"),
    "empty": Behavior("empty"),
    "refusal": Behavior("refusal"),
    "no_usage": Behavior(usage=False),
    "refusal_no_usage": Behavior("refusal", usage=False),
    "error_event": Behavior("error_event"),
}
FRAMING_SETS: list[tuple[str, ...]] = [(), *((f,) for f in FRAMINGS), FRAMINGS]


@dataclass(frozen=True)
class Reading:
    """What a provider keeps of one stream, or the error reading it raised."""

    content: str = ""
    refusal: str = ""
    finish_reason: str | None = None
    usage: tuple[int, int] | None = None
    model: str | None = None
    error: tuple[str, str] | None = None  # (class, message)


def _error(exc: Exception) -> tuple[str, str]:
    return type(exc).__name__, str(exc)


def sdk_reading(client: openai.OpenAI, **kw: Any) -> Reading:
    """The SDK's own stream, folded as app/llm/openai_provider.py did before app/llm/stream.py."""
    parts, refusals, finish, usage, model = [], [], None, None, None
    try:
        stream = client.chat.completions.create(**kw, stream=True,
                                                stream_options={"include_usage": True})
        with stream:
            for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta is not None and choice.delta.content:
                        parts.append(choice.delta.content)
                    if choice.delta is not None and getattr(choice.delta, "refusal", None):
                        refusals.append(str(choice.delta.refusal))
                    if choice.finish_reason:
                        finish = str(choice.finish_reason)
    except Exception as exc:
        return Reading(error=_error(exc))
    return Reading("".join(parts), "".join(refusals), finish, usage, model)


def _reading(result: StreamResult) -> Reading:
    usage = result.usage
    return Reading(result.content, result.refusal, result.finish_reason,
                   None if usage is None else (usage["prompt_tokens"],
                                               usage["completion_tokens"]), result.model)


def lean_reading(client: openai.OpenAI, sizes: list[int] | None = None, **kw: Any) -> Reading:
    """The same request through the SDK, its body through read_stream."""
    try:
        with client.chat.completions.with_streaming_response.create(
                **kw, stream=True, stream_options={"include_usage": True}) as response:
            result = read_stream(response.http_response, (sizes if sizes is not None else [])
                                 .append)
    except Exception as exc:
        return Reading(error=_error(exc))
    return _reading(result)


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


def both(srv: FakeOpenAI, client: openai.OpenAI, behavior: Behavior, **kw: Any) -> Reading:
    """Read the same stream both ways; assert they agree and return the reading."""
    kw = {"model": "gpt-4o-mini", "messages": MSG, **kw}
    srv.default = behavior
    expected = sdk_reading(client, **kw)
    sizes: list[int] = []
    got = lean_reading(client, sizes, **kw)
    assert got == expected
    if expected.content:
        assert sizes and sizes[-1] <= len(expected.content)
    return got


# -- every stream the fake sends -------------------------------------------------------------
@pytest.mark.parametrize("framing", FRAMING_SETS, ids=lambda f: "+".join(f) or "plain")
@pytest.mark.parametrize("kind", list(BEHAVIOURS))
def test_the_same_reading_as_the_sdk(srv: FakeOpenAI, client: openai.OpenAI, kind: str,
                                     framing: tuple[str, ...]) -> None:
    got = both(srv, client, Behavior(**{**BEHAVIOURS[kind].__dict__, "framing": framing}))
    # Each kind reads as what it is (so the comparison is not between two empty readings).
    ends = {"cut": None, "done_no_finish": None, "content_filter": "content_filter",
            "length": "length"}
    if kind in ("disconnect", "error_event"):
        assert got.error is not None and got.error[0] == (
            "APIConnectionError" if kind == "disconnect" else "APIError")
        return
    assert got.error is None and got.finish_reason == ends.get(kind, "stop")
    assert bool(got.content) is (kind not in ("content_filter", "empty", "refusal",
                                              "refusal_no_usage"))
    assert bool(got.refusal) is kind.startswith("refusal")
    no_usage = kind.endswith("no_usage") or kind == "cut"
    assert (got.usage is None) is no_usage and got.model == "gpt-4o-mini"
    if kind == "unicode_text":
        assert got.content == UNICODE


def test_an_error_event_is_the_sdks_api_error(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    got = both(srv, client, Behavior("error_event"))
    assert got.error == ("APIError", "The server had an error while processing your request "
                                     "(fake).")


@pytest.mark.parametrize("model", ["o3", "gpt-5-mini"])
def test_reasoning_model_refusals(srv: FakeOpenAI, client: openai.OpenAI, model: str) -> None:
    srv.reasoning = True
    got = both(srv, client, Behavior("refusal"), model=model, max_completion_tokens=100)
    assert got.refusal and got.finish_reason == "stop" and got.model == model
    refused = both(srv, client, Behavior(), model=model, max_tokens=100)  # before any stream
    assert refused.error is not None and refused.error[0] == "BadRequestError"


def test_a_read_timeout_mid_stream(srv: FakeOpenAI) -> None:
    slow = openai.OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, timeout=0.3)
    got = both(srv, slow, Behavior(latency=3.0, chunks=2))
    assert got.error == ("APITimeoutError", "Request timed out.")


@pytest.mark.parametrize("kind", ["429", "429_quota", "500", "401"])
def test_error_replies_before_the_stream(srv: FakeOpenAI, client: openai.OpenAI,
                                         kind: str) -> None:
    got = both(srv, client, Behavior(kind, retry_after=2))
    assert got.error is not None and got.error[0].endswith("Error")


def _http_chunks(srv: FakeOpenAI, behavior: Behavior) -> list[bytes]:
    """The HTTP chunks of one streamed answer, as written on the wire (no SDK in between)."""
    srv.default = behavior
    body = json.dumps({"model": "m", "messages": MSG, "stream": True}).encode()
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        data = b""
        while part := sock.recv(65536):
            data += part
    rest, chunks = data.split(b"\r\n\r\n", 1)[1], []
    while True:  # Transfer-Encoding: chunked
        size, rest = rest.split(b"\r\n", 1)
        if not int(size, 16):
            return chunks
        chunks.append(rest[:int(size, 16)])
        rest = rest[int(size, 16) + 2:]


def test_the_fake_writes_each_framing(srv: FakeOpenAI) -> None:
    """The framings are on the wire (or the comparisons above would prove little)."""
    text = Behavior("text", text=UNICODE, chunks=3)

    def body(*framing: str) -> bytes:
        return b"".join(_http_chunks(srv, Behavior(**{**text.__dict__, "framing": framing})))

    plain = _http_chunks(srv, text)
    events = len(plain)  # one event a chunk: role, 3 pieces, finish, [DONE]
    assert events == 6 and all(chunk.endswith(b"\n\n") for chunk in plain)
    joined = b"".join(plain)
    assert b"\r" not in joined and b": keep" not in joined and b"data: {\n" not in joined
    assert "潮".encode() not in joined and b"\\u6f6e" in joined
    crlf = body("crlf")
    assert crlf.count(b"\n") == crlf.count(b"\r\n") == 2 * events
    assert body("comments").count(b": keep-alive\n") == events
    assert b'data: {\ndata:  "id"' in body("multiline")
    assert "潮".encode() in body("utf8")
    split = _http_chunks(srv, Behavior(**{**text.__dict__, "framing": ("split",)}))
    assert len(split) == 2 * events  # every event in two halves, the first cut mid-line
    assert [chunk.endswith(b"\n\n") for chunk in split] == [False, True] * events


# -- the reader on bytes split anywhere -------------------------------------------------------
def _sdk_on(pieces: list[bytes]) -> Reading:
    """The SDK's stream over exactly these reads of a body."""
    request = httpx2.Request("POST", "http://fake/v1/chat/completions")
    response = httpx2.Response(200, content=iter(pieces), request=request)
    client = openai.OpenAI(api_key="sk-test", base_url="http://fake/v1")
    parts, refusals, finish, usage, model = [], [], None, None, None
    try:
        for chunk in openai.Stream(cast_to=ChatCompletionChunk, response=response,
                                   client=client):
            model = chunk.model or model
            if chunk.usage is not None:
                usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            for choice in chunk.choices:
                parts.append(choice.delta.content or "")
                refusals.append(choice.delta.refusal or "")
                finish = choice.finish_reason or finish
    except Exception as exc:
        return Reading(error=_odd_error(exc))
    return Reading("".join(parts), "".join(refusals), finish, usage, model)


def _odd_error(exc: Exception) -> tuple[str, str]:
    """Not JSON: json's and jiter's ValueErrors word it differently."""
    return ("ValueError", "") if isinstance(exc, ValueError) else _error(exc)


def _lean_on(pieces: list[bytes]) -> Reading:
    reader = StreamReader()
    try:
        for piece in pieces:
            if reader.feed(piece):
                break
        else:
            reader.finish()
    except MalformedEvent as exc:
        return Reading(error=_odd_error(exc))
    except Exception as exc:
        return Reading(error=_error(exc))
    return _reading(reader.result())


def _event(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m1",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def _body(newline: str = "\n", indent: int | None = None) -> bytes:
    events = [_event("Héllo, "), _event("潮汐 “w”\n"), _event(finish="stop")]
    usage = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m1",
             "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4,
                                      "total_tokens": 7}}
    out = f": hello{newline}{newline}"
    for event in [*events, usage]:
        data = json.dumps(event, ensure_ascii=False, indent=indent)
        out += "".join(f"data: {line}{newline}" for line in data.split("\n")) + newline
    return (out + f"data: [DONE]{newline}{newline}").encode()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("indent", [None, 1], ids=["one-line", "multi-line"])
def test_a_body_split_at_every_byte(newline: str, indent: int | None) -> None:
    body = _body(newline, indent)
    whole = _lean_on([body])
    assert whole == _sdk_on([body])
    assert whole.content == "Héllo, 潮汐 “w”\n" and whole.finish_reason == "stop"
    assert whole.usage == (3, 4) and whole.model == "m1"
    for cut in range(1, len(body)):
        assert _lean_on([body[:cut], body[cut:]]) == whole, cut
    assert _lean_on([body[i:i + 1] for i in range(len(body))]) == whole


@pytest.mark.parametrize("body", [
    b'data: {"choices": [{"delta": {"content": "a"}}]}\n\ndata: not json\n\n',
    b'data: {"choices": [\n\n',
    b'data: {"error": {"message": "boom"}}\n\n',
    b'data: {"error": {"code": 5}}\n\n',
    b'data:{"choices": [{"delta": {"content": "no space"}, "finish_reason": "stop"}]}\n\n',
    b'data: {"choices": [{"delta": {"content": "a"}}]}\n\ndata: [DONE]\n\ndata: not json\n\n',
    b'data: {"choices": [{"delta": {"content": "unended"}}]}\n',
    b'id: 1\nretry: 10\ndata: {"choices": [{"delta": {"content": "x"}}]}\n\n',
], ids=["not-json", "cut-json", "error", "error-without-message", "no-space", "after-done",
        "no-blank-line", "other-fields"])
def test_odd_bodies_read_as_the_sdk_reads_them(body: bytes) -> None:
    assert _lean_on([body]) == _sdk_on([body])


def test_an_event_without_data_is_skipped() -> None:
    """The one difference, on purpose: the SDK fails on an empty event's JSON."""
    body = b'event: ping\n\ndata: {"choices": [{"delta": {"content": "x"}}]}\n\n'
    assert _lean_on([body]).content == "x"
    assert _sdk_on([body]).error == ("ValueError", "")


# -- through the provider ---------------------------------------------------------------------
def _provider(srv: FakeOpenAI, timeout: float = 5) -> OpenAIProvider:
    return OpenAIProvider(api_key="sk-test", base_url=srv.base_url, model="gpt-4o-mini",
                          timeout=timeout, max_tokens=1500, temperature=0.7)


@pytest.mark.parametrize("framing", FRAMING_SETS, ids=lambda f: "+".join(f) or "plain")
def test_a_whole_article_in_every_framing(srv: FakeOpenAI, framing: tuple[str, ...]) -> None:
    srv.default = Behavior(chunks=40, framing=framing)
    got = _provider(srv).generate(ArticleRequest("Tidal power", "energy", language="zh-CN"),
                                  lambda _size: None)
    given, body = seo.split(got.content)  # the SEO block survives every framing too
    assert given["seo_title"] == "Tidal power" and body.startswith("# Tidal power")
    assert "的" in body
    assert got.finish_reason == "stop" and not got.tokens_estimated and got.completion_tokens


def test_an_error_event_is_a_stream_cut(srv: FakeOpenAI) -> None:
    srv.default = Behavior("error_event")
    sizes: list[int] = []
    with pytest.raises(StreamCut, match="APIError: The server had an error") as err:
        _provider(srv).generate(ArticleRequest("Tidal power", "energy"), sizes.append)
    assert err.value.retryable and max(sizes) > 0
    assert err.value.headers is not None and "x-ratelimit-remaining-requests" in err.value.headers


class Stop(Exception):
    pass


def test_a_checkpoint_that_raises_closes_the_connection(srv: FakeOpenAI) -> None:
    """Cancel: the checkpoint raises between reads, the request is aborted at once."""
    srv.default = Behavior(latency=60.0, chunks=600)

    def checkpoint(size: int) -> None:
        if size:
            raise Stop

    start = time.monotonic()
    with pytest.raises(Stop):
        _provider(srv).generate(ArticleRequest("Tidal power", "energy"), checkpoint)
    assert time.monotonic() - start < 2
    deadline = time.monotonic() + 5
    while srv.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    [record] = srv.requests
    assert record.aborted, "the server kept streaming to nobody"
