"""A streamed chat completion read from its raw bytes, without an object per chunk.

The openai SDK turns every server-sent event into a pydantic ``ChatCompletionChunk``: about
80 µs a chunk, ~100 ms of CPU for a 1,000-word answer in 1,300 chunks, most of a core at
200 slots a process. Here the SDK still makes the request (auth, base URL, timeouts, the error
replies before the stream starts) and hands over its HTTP response; this module splits the
bytes into events and keeps only what the provider needs from each (the text, the refusal, the
finish reason, the usage, the model): ~2 µs a chunk over the transport's own cost.

Why streamed at all, when nothing reads the partial text: a cancel, a lost lease or the item's
deadline must stop a call within 2 s, and only closing the connection stops it (and the
provider's billing of it). A non-streamed request gives no moment to do that until the whole
answer has arrived; a stream gives one with every read.

The events are read as the SDK reads them (``openai._streaming``), so a stream means the same
thing either way (tests/llm/test_stream_parser.py compares the two on every stream the fake
server sends): lines end with LF, CRLF or CR; ``:`` lines are comments (keep-alives); several
``data:`` lines of one event are joined with newlines; ``[DONE]`` ends the stream; an event
whose data holds ``"error"`` raises ``openai.APIError``; a broken body or a read timeout raise
``openai.APIConnectionError`` / ``APITimeoutError``. One difference, on purpose: an event with
no data at all (``event: ping``) is skipped, where the SDK fails on its empty JSON; data that
is not JSON raises ``MalformedEvent`` (a ValueError, as the SDK's).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# The openai SDK's own transport and JSON parser (both pinned in requirements.lock through it):
# the response is httpx2's, and jiter parses a chunk in half the time of json.loads.
import httpx2
import jiter
import openai

_DONE = b"[DONE]"


class MalformedEvent(ValueError):
    """An event whose data is not JSON (the SDK raises json's ValueError there too)."""


@dataclass(frozen=True)
class StreamResult:
    """What one stream said, as the provider judges it (app/llm/openai_provider.py)."""

    content: str  # every content delta, joined as sent (not stripped)
    refusal: str  # every refusal delta, joined
    finish_reason: str | None  # the last one sent; None when the stream never said
    usage: dict[str, Any] | None  # the last usage object sent
    model: str | None  # the model that answered, when the chunks name it
    done: bool  # the stream ended with [DONE] rather than just stopping


class StreamReader:
    """Fed the body's bytes as they arrive; keeps the answer, not the chunks.

        reader = StreamReader()
        for data in response.iter_bytes():
            if reader.feed(data):    # True once [DONE] arrived
                break
        reader.finish()              # the body ended: its last unterminated line counts
        reader.result()

    ``request`` (the HTTP request) goes into an ``openai.APIError`` for an error event.
    """

    def __init__(self, request: httpx2.Request | None = None) -> None:
        self.request = request
        self.size = 0  # characters of content so far (what the checkpoint is told)
        self._parts: list[str] = []
        self._refusals: list[str] = []
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._model: str | None = None
        self._done = False
        self._pending = b""  # an unterminated last line (a read may end anywhere)
        self._data: list[bytes] = []  # the data lines of the event being read

    def feed(self, data: bytes) -> bool:
        """Take the next bytes of the body; True once ``[DONE]`` has been read."""
        if self._done:
            return True
        if self._pending:
            data = self._pending + data
        elif (not self._data and data.endswith(b"\n\n") and data.startswith(b"data: ")
              and data.count(b"\n") == 2 and b"\r" not in data):
            # The usual read: one whole single-line event and nothing else.
            payload = data[6:-2]
            if payload.startswith(_DONE):
                self._done = True
                return True
            if payload:
                self._event(payload)
            return False
        if b"\r" in data:
            # A CR at the very end may be the first half of a CRLF: keep it for the next read.
            held = data.endswith(b"\r")
            if held:
                data = data[:-1]
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = data.split(b"\n")
            self._pending = lines.pop() + (b"\r" if held else b"")
        else:
            lines = data.split(b"\n")
            self._pending = lines.pop()
        return self._lines(lines)

    def finish(self) -> None:
        """The body ended: an unterminated last line is a line; an event never closed by a
        blank line is dropped (the SSE rule, and the SDK's)."""
        if self._pending and not self._done:
            self._lines([self._pending.rstrip(b"\r")])
        self._pending = b""

    def result(self) -> StreamResult:
        return StreamResult("".join(self._parts), "".join(self._refusals), self._finish,
                            self._usage, self._model, self._done)

    def _lines(self, lines: Iterable[bytes]) -> bool:
        for line in lines:
            if not line:  # a blank line ends an event
                if self._data:
                    data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
                    self._data = []
                    if data.startswith(_DONE):
                        self._done = True
                        return True
                    if data:
                        self._event(data)
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
            elif line == b"data":  # a field name alone is the field with an empty value
                self._data.append(b"")
            # Anything else is a comment (":", keep-alives) or a field we do not use (event:,
            # id:, retry:): an event that has only those has no data and is skipped.
        return False

    def _event(self, data: bytes) -> None:
        try:
            chunk = jiter.from_json(data, cache_mode="keys")
        except ValueError as exc:
            raise MalformedEvent(f"{exc}: {data[:80]!r}") from exc
        if type(chunk) is not dict:
            return
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else None
            if not message or not isinstance(message, str):
                message = "An error occurred during streaming"
            raise openai.APIError(message, self._http_request(), body=error)
        if model := chunk.get("model"):
            self._model = model
        if (usage := chunk.get("usage")) is not None:
            self._usage = usage
        for choice in chunk.get("choices") or ():
            if delta := choice.get("delta"):
                if text := delta.get("content"):
                    self._parts.append(text)
                    self.size += len(text)
                if refusal := delta.get("refusal"):
                    self._refusals.append(str(refusal))
            if finish := choice.get("finish_reason"):
                self._finish = str(finish)

    def _http_request(self) -> httpx2.Request:
        return self.request or httpx2.Request("POST", "http://unknown/chat/completions")


def read_stream(response: httpx2.Response, checkpoint: Callable[[int], None]) -> StreamResult:
    """Read a streamed chat completion to its end, calling ``checkpoint(characters so far)``
    after every read; the response is closed however this ends (an exception from the
    checkpoint included: that is how a cancel aborts the call)."""
    reader = StreamReader(response.request)
    try:
        for data in response.iter_bytes():
            done = reader.feed(data)
            checkpoint(reader.size)
            if done:
                break
        else:
            reader.finish()
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except (httpx2.RequestError, ssl.SSLError) as exc:
        raise openai.APIConnectionError(request=response.request) from exc
    finally:
        response.close()
    return reader.result()
