"""A local OpenAI-compatible server that simulates provider behaviour for tests and benchmarks.

Workers talk to it through the official ``openai`` SDK, so the tests exercise the same HTTP,
error and streaming code paths as production: rate limits with ``Retry-After``, quota errors,
5xx, hangs, mid-stream disconnects and client aborts. Standard library only, so it starts in
milliseconds and can run anywhere (``python -m tests.support.fake_openai --help``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("ok", "429", "429_quota", "500", "503", "400", "401", "403", "hang", "disconnect")

# (status, message, type, code) in OpenAI's error shape; keys are never echoed back.
ERRORS: dict[str, tuple[int, str, str, str | None]] = {
    "429": (429, "Rate limit reached for requests (fake).", "requests", "rate_limit_exceeded"),
    "429_quota": (429, "You exceeded your current quota (fake).", "insufficient_quota",
                  "insufficient_quota"),
    "500": (500, "The server had an error while processing your request (fake).",
            "server_error", None),
    "503": (503, "The engine is currently overloaded (fake).", "server_error", None),
    "400": (400, "Invalid request (fake).", "invalid_request_error", None),
    "401": (401, "Incorrect API key provided (fake).", "invalid_request_error",
            "invalid_api_key"),
    "403": (403, "Request forbidden (fake).", "request_forbidden", "unsupported_region"),
}

WORDS = ("signal", "noise", "method", "result", "evidence", "pattern", "system", "design",
         "context", "value", "model", "detail", "claim", "source", "reader", "practice",
         "trade-off", "example", "measure", "insight")


@dataclass(frozen=True)
class Behavior:
    """How the server answers one request.

    ``latency`` is the delay before the response (errors included) for non-streaming calls, and
    the total stream duration for streaming ones: headers go out at once, then ``latency /
    chunks`` before each content chunk. ``hang`` sends nothing for ``hang_seconds`` then closes;
    ``disconnect`` cuts the socket after half the chunks (before any response if not streaming).
    ``retry_after`` becomes the ``Retry-After`` header of a 429.
    """

    kind: str = "ok"
    latency: float = 0.0
    chunks: int = 8
    retry_after: float | None = None
    hang_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {KINDS}")


@dataclass
class Record:
    """What the server saw and did for one chat completion request (header names lowercased)."""

    match: str | None
    kind: str
    stream: bool
    model: str
    text: str
    headers: dict[str, str]
    started: float
    ended: float | None = None
    status: int | None = None
    aborted: bool = False


@dataclass
class _Rule:
    match: str
    behaviors: deque[Behavior]
    then: Behavior | None


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def make_pieces(prompt: str, chunks: int) -> list[str]:
    """Deterministic Markdown article in ``chunks`` pieces: a title, then paragraphs."""
    title = (prompt.strip().splitlines() or ["Untitled"])[0].strip("# ")[:80] or "Untitled"
    seed = hashlib.sha256(prompt.encode()).digest()
    pieces = [f"# {title}\n\n"]
    for i in range(1, max(1, chunks)):
        words = [WORDS[(seed[(i * 7 + j) % len(seed)] + j) % len(WORDS)] for j in range(12)]
        pieces.append(f"Part {i} of {title}: the {' '.join(words)}.\n\n")
    return pieces


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stalls
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.owner._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    # -- helpers -------------------------------------------------------------------------
    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False as soon as the server stops or the client hangs up."""
        deadline = time.monotonic() + seconds
        stopping = self.server.owner._stopping
        poller = select.poll()  # not select(): fds above 1024 under hundreds of connections
        poller.register(self.connection, select.POLLIN)
        while (left := deadline - time.monotonic()) > 0:
            if stopping.is_set():
                return False
            if poller.poll(int(min(left, 0.05) * 1000) + 1):
                try:
                    gone = self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    raise ConnectionResetError("client closed the connection")
                stopping.wait(min(left, 0.05))  # pipelined bytes: keep waiting without spinning
        return not stopping.is_set()

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- endpoints -----------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in ("gpt-4o-mini", "gpt-4o")]})
        else:
            self._not_found()

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._not_found()
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            self._send_json(400, {"error": {"message": "Invalid JSON body (fake).",
                                            "type": "invalid_request_error", "code": None}})
            return
        owner = self.server.owner
        all_text = "\n".join(_message_text(m.get("content")) for m in messages)
        users = [_message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        rule, beh = owner._pick(all_text)
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = Record(match=rule, kind=beh.kind, stream=bool(body.get("stream")),
                     model=str(body.get("model", "")), text=users[-1] if users else "",
                     headers=headers, started=time.monotonic())
        owner._begin(rec)
        status, aborted = None, False
        try:
            status = self._respond(beh, rec, body)
        except (ConnectionError, TimeoutError):  # BrokenPipe/ConnectionReset while writing
            aborted = self.close_connection = True
        finally:
            owner._end(rec, status, aborted)

    def _not_found(self) -> None:
        self._send_json(404, {"error": {"message": f"Unknown path {self.path} (fake).",
                                        "type": "invalid_request_error", "code": None}})

    def _respond(self, beh: Behavior, rec: Record, body: dict[str, Any]) -> int | None:
        owner = self.server.owner
        limits = {"x-ratelimit-limit-requests": "10000", "x-ratelimit-limit-tokens": "1000000",
                  "x-ratelimit-remaining-requests": str(max(0, 10000 - owner.count())),
                  "x-ratelimit-remaining-tokens": "999000",
                  "x-request-id": f"req_fake_{owner.count()}"}
        if beh.kind in ERRORS:
            if not self._wait(beh.latency):
                self._cut()
                return None
            status, message, etype, code = ERRORS[beh.kind]
            if status == 429:
                limits["x-ratelimit-remaining-requests"] = "0"
                if beh.retry_after is not None:
                    ra = beh.retry_after
                    limits["Retry-After"] = str(int(ra)) if ra == int(ra) else str(ra)
            self._send_json(status, {"error": {"message": message, "type": etype, "code": code}},
                            limits)
            return status
        if beh.kind == "hang":
            self._wait(beh.hang_seconds)
            self._cut()
            return None
        pieces = make_pieces(rec.text, beh.chunks)
        prompt_tokens = _tokens(json.dumps(body.get("messages")))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": _tokens("".join(pieces)),
                 "total_tokens": prompt_tokens + _tokens("".join(pieces))}
        ident, created = f"chatcmpl-fake{id(rec):x}", int(time.time())
        if not rec.stream:
            if not self._wait(beh.latency) or beh.kind == "disconnect":
                self._cut()
                return None
            msg = {"role": "assistant", "content": "".join(pieces), "refusal": None}
            self._send_json(200, {
                "id": ident, "object": "chat.completion", "created": created, "model": rec.model,
                "system_fingerprint": "fp_fake", "usage": usage, "choices": [{
                    "index": 0, "message": msg, "logprobs": None, "finish_reason": "stop"}],
            }, limits)
            return 200

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def event(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> None:
            obj: dict[str, Any] = {
                "id": ident, "object": "chat.completion.chunk", "created": created,
                "model": rec.model, "system_fingerprint": "fp_fake",
                "choices": [] if delta is None else [{
                    "index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                obj["usage"] = None
            obj.update(extra)
            self._chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in limits.items():
            self.send_header(k, v)
        self.end_headers()
        event({"role": "assistant", "content": "", "refusal": None})
        for i, piece in enumerate(pieces):
            if beh.kind == "disconnect" and i >= len(pieces) // 2:
                self._cut()
                return 200
            if not self._wait(beh.latency / len(pieces)):
                self._cut()  # server stopping: end the stream like a dropped connection
                return 200
            event({"content": piece})
        event({}, "stop")
        if include_usage:
            event(None, usage=usage)
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")
        return 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, addr: tuple[str, int], owner: FakeOpenAI) -> None:
        self.owner = owner
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients dropping keep-alive sockets is normal, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """OpenAI-compatible chat completions server in a background thread, driven by rules."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 default: Behavior | None = None, verbose: bool = False) -> None:
        self.host, self.port, self.verbose = host, port, verbose
        self.default = default or Behavior()
        self.in_flight = self.max_in_flight = 0
        self._rules: list[_Rule] = []
        self._records: list[Record] = []
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._stopping.clear()
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving: hangs and streams end at once, idle keep-alive sockets are closed."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        self._httpd.server_close()
        self._httpd = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_rule(self, match: str, behaviors: list[Behavior | str],
                 then: Behavior | None = None) -> None:
        """Requests whose messages contain ``match`` get ``behaviors`` in order (a string is
        shorthand for ``Behavior(kind)``), then ``then`` or the default. First rule added wins."""
        seq = deque(Behavior(b) if isinstance(b, str) else b for b in behaviors)
        with self._lock:
            self._rules.append(_Rule(match, seq, then))

    def reset(self) -> None:
        """Forget rules, records and the default, so one server can serve a whole test module."""
        with self._lock:
            self._rules.clear()
            self._records.clear()
            self.default = Behavior()
            self.max_in_flight = self.in_flight

    @property
    def requests(self) -> list[Record]:
        """Copies of the chat completion records, in arrival order."""
        with self._lock:
            return [replace(r, headers=dict(r.headers)) for r in self._records]

    def count(self, match: str | None = None) -> int:
        """Chat completion requests seen, all of them or only those matched by rule ``match``."""
        with self._lock:
            return sum(1 for r in self._records if match is None or r.match == match)

    # -- called by handler threads ------------------------------------------------------
    def _pick(self, text: str) -> tuple[str | None, Behavior]:
        with self._lock:
            for rule in self._rules:
                if rule.match in text:
                    if rule.behaviors:
                        return rule.match, rule.behaviors.popleft()
                    return rule.match, rule.then or self.default
            return None, self.default

    def _begin(self, rec: Record) -> None:
        with self._lock:
            self._records.append(rec)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _end(self, rec: Record, status: int | None, aborted: bool) -> None:
        with self._lock:
            rec.ended, rec.status, rec.aborted = time.monotonic(), status, aborted
            self.in_flight -= 1

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)


def main(argv: list[str] | None = None) -> None:
    """Serve standalone for benchmarks and manual runs until Ctrl-C or SIGTERM."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    p.add_argument("--kind", default="ok", choices=KINDS, help="default behaviour")
    p.add_argument("--latency", type=float, default=0.0,
                   help="seconds before the reply; total stream duration when streaming")
    p.add_argument("--chunks", type=int, default=8, help="content chunks per completion")
    p.add_argument("--retry-after", type=float, default=None, help="Retry-After for 429")
    p.add_argument("--verbose", action="store_true", help="log every request")
    a = p.parse_args(argv)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background (SIG_IGN)
        signal.signal(sig, lambda *_: done.set())
    srv = FakeOpenAI(a.host, a.port, Behavior(a.kind, a.latency, a.chunks, a.retry_after),
                     verbose=a.verbose).start()
    print(srv.base_url, flush=True)
    while not done.wait(0.5):
        pass
    srv.stop()


if __name__ == "__main__":
    main()
