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
import random
import re
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("ok", "429", "429_quota", "500", "503", "400", "401", "403", "hang", "disconnect",
         "cut", "done_no_finish", "content_filter", "length", "empty", "refusal", "text",
         "error_event")
# How a stream may be written (Behavior.framing), each as some server or proxy writes it.
FRAMINGS = ("crlf", "comments", "multiline", "utf8", "split")

# The finish_reason each answering kind ends with (None: the stream stops without one).
FINISH: dict[str, str | None] = {"cut": None, "done_no_finish": None, "error_event": None,
                                 "content_filter": "content_filter", "length": "length"}
REFUSAL = "I'm sorry, I can't help with that request (fake)."
# Models that, with ``FakeOpenAI(reasoning=True)``, refuse max_tokens and temperature as OpenAI's
# o-series and gpt-5 family do. ``reasoning`` may also be a regex of its own.
REASONING_MODELS = r"^(?:o\d|gpt-5)"

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
    ``disconnect`` cuts the socket after half the chunks (before any response if not streaming),
    which the client sees as a broken body. ``cut`` ends the body cleanly after half the chunks
    with no finish_reason and no ``[DONE]`` (a proxy or server closing the stream early: nothing
    tells the client); ``done_no_finish`` sends half the chunks then ``[DONE]`` with no
    finish_reason (llama.cpp cutting a slot). ``content_filter`` sends no text and that
    finish_reason; ``length`` the whole text with finish_reason ``length``; ``empty`` no text
    and ``stop``; ``refusal`` a ``refusal`` delta and ``stop``. ``usage=False`` sends no usage
    even when ``stream_options.include_usage`` asks for it (llama.cpp).
    ``retry_after`` becomes the ``Retry-After`` header of a 429. ``headers`` are sent with
    the reply, over the fake's own ``x-ratelimit-*`` (e.g. a budget at zero for one call).
    ``text`` answers with the
    given ``text`` (a refusal written as prose, a short or wrong-language article, a copy of
    another article) and ``stop``, as a model that misbehaves without saying so would.
    ``error_event`` sends half the chunks, then an ``{"error": ...}`` event and ends the body
    (OpenAI's mid-stream ``server_error``).
    ``framing`` changes how the stream's bytes are written, not what they say: ``crlf`` line
    ends, ``comments`` (a ``: keep-alive`` line before each event), ``multiline`` (each event's
    JSON over several ``data:`` lines), ``utf8`` (non-ASCII text unescaped, as OpenAI sends
    it), ``split`` (each event in two HTTP chunks, cut mid-line, maybe mid-character).
    """

    kind: str = "ok"
    latency: float = 0.0
    chunks: int = 8
    retry_after: float | None = None
    hang_seconds: float = 600.0
    usage: bool = True
    headers: dict[str, str] | None = None
    text: str | None = None
    framing: tuple[str, ...] = ()
    # The error's message instead of the kind's own (a provider that echoes the key it got).
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {KINDS}")
        if unknown := set(self.framing) - set(FRAMINGS):
            raise ValueError(f"unknown framing {sorted(unknown)}; expected some of {FRAMINGS}")
        if (self.kind == "text") != (self.text is not None):
            raise ValueError("kind 'text' and a text go together")


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
    # The request body but its messages: model, max_tokens or max_completion_tokens, ...
    params: dict[str, Any] = field(default_factory=dict)


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


def make_pieces(prompt: str, chunks: int, front_matter: bool = True) -> list[str]:
    """The answer to ``prompt`` (the last user message) in ``chunks`` non-empty pieces.

    A prompt from app/llm/prompt.py (title as JSON between ``<article-request>`` tags) gets an
    article that passes the quality checks: ``# title``, six ``##`` sections, a pros/cons table
    when the instructions ask for one, in the language of its ``Language: ... (tag)`` line
    (Simplified Chinese for zh, English otherwise) and as long as its ``Length:`` line asks
    (default: the default profile's bounds). Seeded by the prompt, so titles differ; the same
    prompt again (a retry, the same title twice) gets the next variant, as a model with a
    temperature would. When the prompt asks for the SEO front-matter block (app/llm/prompt.py)
    and ``front_matter`` is on (``FakeOpenAI.front_matter``), the article starts with one
    (``_front_matter``: no slug for a title without ASCII words). Any other prompt gets the
    old placeholder: a title from its first line and one "Part i" paragraph per piece.
    """
    if (request := _article_request(prompt)) is None:
        title = (prompt.strip().splitlines() or ["Untitled"])[0].strip("# ")[:80] or "Untitled"
        seed = hashlib.sha256(prompt.encode()).digest()
        pieces = [f"# {title}\n\n"]
        for i in range(1, max(1, chunks)):
            words = [WORDS[(seed[(i * 7 + j) % len(seed)] + j) % len(WORDS)] for j in range(12)]
            pieces.append(f"Part {i} of {title}: the {' '.join(words)}.\n\n")
        return pieces
    text = _article(prompt, request)
    if front_matter and "front-matter block" in prompt:
        text = _front_matter(request, text) + text
    n = max(1, min(chunks, len(text)))
    return [text[i * len(text) // n:(i + 1) * len(text) // n] for i in range(n)]


# app/llm/prompt.py escapes < and > in the JSON, so the first closing tag ends it.
_REQUEST = re.compile(r"<article-request>\s*(.*?)\s*</article-request>", re.S)
_LANGUAGE = re.compile(r"Language:[^\n]*?\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\)")
_LENGTH = re.compile(r"Length:([^\n]*?)\b(words|characters)\b")
_SEEN: dict[bytes, int] = {}
_SEEN_LOCK = threading.Lock()

_EN_WORDS = {
    "n": WORDS + ("costs", "risks", "fees", "records", "limits", "options", "rules", "terms",
                  "providers", "reviews", "budgets", "safeguards", "goals", "habits"),
    "a": ("clear", "careful", "simple", "steady", "reliable", "modest", "specific", "honest",
          "patient", "thorough", "sensible", "balanced"),
    "v": ("compare", "check", "review", "track", "weigh", "test", "confirm", "question",
          "note", "rank"),
}
_EN_SENTENCES = (
    "Readers who ask about {t} usually want to know which {n} matter most.",
    "A {a} reading of the {n} tells you more than the {m} alone.",
    "Start by asking how the {n} and the {m} affect each other.",
    "It pays to {v} the {n} before anything else, then {w} the {m}.",
    "Experts on {t} tend to {v} the {n} twice and trust the {m} once.",
    "The {n} change over time, so a {a} habit of checking them helps.",
    "When the {n} look good but the {m} do not, slow down.",
    "A short list of {a} questions about the {n} saves hours later.",
    "Nothing about {t} requires guesswork if you {v} the {n} calmly.",
    "Good advice on the {n} explains its reasoning; poor advice hides it.",
    "Try to {v} the {n} first and leave the {m} for later.",
    "A {a} plan for {t} names the {n} it depends on.",
    "Most surprises come from the {n} that nobody thought to {v}.",
    "Keep notes on the {n}; in a month you will want to {v} them again.",
)
_ZH_WORDS = {
    "n": ("费用", "风险", "期限", "来源", "记录", "目标", "规则", "选项", "条款", "预算",
          "安全性", "口碑", "细节", "信号", "流程", "证据", "方法", "结果", "模式", "习惯",
          "限额", "服务", "合规", "流动性"),
    "a": ("清楚", "谨慎", "简单", "稳健", "可靠", "适度", "具体", "耐心", "细致", "平衡"),
    "v": ("比较", "核对", "查看", "记录", "权衡", "测试", "确认", "追问", "整理", "排序"),
}
_ZH_SENTENCES = (
    "想了解「{t}」的读者，通常最想知道哪些{n}最重要。",
    "以{a}的态度解读{n}，比只看{m}更能说明问题。",
    "可以先问一问，{n}和{m}之间是如何相互影响的。",
    "做任何决定之前，先{v}{n}，再{w}{m}。",
    "熟悉「{t}」的人，往往会把{n}{v}两遍，而对{m}只看一次。",
    "{n}会随时间变化，养成{a}的检查习惯很有帮助。",
    "当{n}看起来不错而{m}却不理想时，最好放慢脚步。",
    "围绕{n}准备几个{a}的问题，能在以后省下大量时间。",
    "只要冷静地{v}{n}，「{t}」并不需要靠猜。",
    "关于{n}的好建议会说明理由，差的建议则避而不谈。",
    "一次只{v}一项{n}，不要同时处理所有的{m}。",
    "一个{a}的「{t}」计划，会写明它依赖哪些{n}。",
    "大多数意外，都来自没有人想到去{v}的{n}。",
    "把{n}记下来，一个月后你还会想再{v}一次。",
)
_HEADS = {
    "en": ("Background", "What to look for", "How it works", "Costs and trade-offs",
           "A worked example", "Common questions", "Practical tips", "What the evidence says"),
    "zh": ("背景", "需要关注什么", "运作方式", "成本与取舍", "一个实际例子", "常见问题",
           "实用建议", "证据怎么说"),
}


def _article_request(prompt: str) -> dict[str, Any] | None:
    """The JSON data of the last ``<article-request>`` block, or None."""
    found = _REQUEST.findall(prompt)
    try:
        data = json.loads(found[-1]) if found else None
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("title"), str) else None


def _article_length(text: str, chinese: bool) -> int:
    if chinese:  # each Han character, plus each Latin word or number, counts as one
        return len(re.findall(r"[\u4e00-\u9fff]|[A-Za-z0-9]+", text))
    return len(re.findall(r"[^\W_]+(?:'[^\W_]+)*", text))


def _article(prompt: str, request: dict[str, Any]) -> str:
    title, category = str(request["title"]), str(request.get("category", ""))
    lang = _LANGUAGE.search(prompt)
    chinese = lang is not None and lang.group(1).lower().split("-")[0] == "zh"
    bounds = _LENGTH.search(prompt)
    spec = bounds.group(1) if bounds else ""
    numbers = [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", spec)]
    if len(numbers) >= 2:
        target = numbers[0] + (numbers[1] - numbers[0]) // 4
    elif numbers and "most" in spec:
        target = numbers[0] * 3 // 4
    elif numbers:
        target = numbers[0] * 5 // 4
    else:  # inside the default profile's 500-1,500 words / 800-2,500 characters
        target = 1100 if chinese else 650
    digest = hashlib.sha256(prompt.encode()).digest()
    with _SEEN_LOCK:
        variant = _SEEN[digest] = _SEEN.get(digest, -1) + 1
    rng = random.Random(digest + variant.to_bytes(4, "big"))
    words, sentences = (_ZH_WORDS, _ZH_SENTENCES) if chinese else (_EN_WORDS, _EN_SENTENCES)
    join = "" if chinese else " "

    def sentence() -> str:
        n, m = rng.sample(words["n"], 2)
        v, w = rng.sample(words["v"], 2)
        text = rng.choice(sentences).format(t=title if chinese else f"“{title}”", c=category,
                                            n=n, m=m, a=rng.choice(words["a"]), v=v, w=w)
        return text[:1].upper() + text[1:]

    def paragraph() -> str:
        return join.join(sentence() for _ in range(rng.randint(3, 4)))

    heads = rng.sample(_HEADS["zh" if chinese else "en"], 5)
    sections: list[list[str]] = [[paragraph()] for _ in heads]
    if re.search(r"pros and cons|pros/cons|\| *pros *\||优缺点|优点与缺点", prompt, re.I):
        rows = "\n".join(f"| {sentence()} | {sentence()} |" for _ in range(3))
        sections[-1].insert(0, ("| 优点 | 缺点 |" if chinese else "| Pros | Cons |")
                            + "\n| --- | --- |\n" + rows)
    closing = "总结" if chinese else "Conclusion"

    def render() -> str:
        body = "\n\n".join(f"## {head}\n\n" + "\n\n".join(blocks)
                            for head, blocks in zip((*heads, closing), (*sections, [ending]),
                                                    strict=True))
        return f"# {title}\n\n{lead}\n\n{body}\n"

    lead, ending = paragraph(), paragraph()
    text, i = render(), 0
    while _article_length(text, chinese) < target and i < 500:
        sections[i % len(sections)].append(paragraph())
        text, i = render(), i + 1
    return text


def _front_matter(request: dict[str, Any], article: str) -> str:
    """The SEO block a model would write for ``article``: JSON values (JSON is YAML)."""
    title, category = str(request["title"]), str(request.get("category", ""))
    lead = article.split("\n\n")[1]
    chinese = bool(re.search(r"[\u4e00-\u9fff]", lead))
    meta = lead[:76] if chinese or len(lead) <= 160 else lead[:lead.rfind(" ", 0, 156)]
    words = re.findall(r"[A-Za-z0-9]+", title)
    fields: dict[str, Any] = {"seo_title": title[:60], "meta_description": meta}
    if words:
        fields["slug"] = "-".join(words).lower()[:80].strip("-")
    fields.update(excerpt=lead[:150], tags=[category, "fake"])
    lines = "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in fields.items())
    return f"---\n{lines}---\n\n"


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _cut_to(pieces: list[str], size: int) -> list[str]:
    """The first ``size`` characters of the answer, in as many of its pieces as they fill."""
    kept: list[str] = []
    for piece in pieces:
        if size <= 0:
            break
        kept.append(piece[:size])
        size -= len(piece)
    return kept


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
    def send_response(self, code: int, message: str | None = None) -> None:
        """Record the status before any byte leaves: a client can read the whole answer (and
        a test look at the record) before the handler's own bookkeeping runs."""
        if (rec := getattr(self, "_rec", None)) is not None:
            self.server.owner._status(rec, code)
        super().send_response(code, message)

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
        if self.server.owner.batches.route(self, "GET"):  # /v1/files, /v1/batches
            return
        if self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in ("gpt-4o-mini", "gpt-4o")]})
        else:
            self._not_found()

    def do_POST(self) -> None:
        if self.server.owner.batches.route(self, "POST"):  # /v1/files, /v1/batches
            return
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
        rejected = owner._unsupported(body)  # checked first: a refused call uses no rule
        rule, beh = (None, Behavior("400")) if rejected else owner._pick(all_text)
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = Record(match=rule, kind=beh.kind, stream=bool(body.get("stream")),
                     model=str(body.get("model", "")), text=users[-1] if users else "",
                     headers=headers, started=time.monotonic(),
                     params={k: v for k, v in body.items() if k != "messages"})
        owner._begin(rec)
        self._rec: Record | None = rec
        status, aborted = None, False
        try:
            if rejected:
                self._send_json(400, {"error": rejected})
                status = 400
            else:
                status = self._respond(beh, rec, body)
        except (ConnectionError, TimeoutError):  # BrokenPipe/ConnectionReset while writing
            aborted = self.close_connection = True
        finally:
            self._rec = None
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
        limits.update(beh.headers or {})
        if beh.kind in ERRORS:
            if not self._wait(beh.latency):
                self._cut()
                return None
            status, message, etype, code = ERRORS[beh.kind]
            message = beh.message or message
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
        pieces = make_pieces(rec.text, beh.chunks, owner.front_matter)
        if beh.text is not None:
            n = max(1, min(beh.chunks, len(beh.text)))
            pieces = [beh.text[i * len(beh.text) // n:(i + 1) * len(beh.text) // n]
                      for i in range(n)]
        if beh.kind in ("content_filter", "empty", "refusal"):
            pieces = []
        elif beh.kind in ("cut", "done_no_finish", "error_event"):
            pieces = pieces[: len(pieces) // 2]
        finish = FINISH.get(beh.kind, "stop")
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if (owner.honor_max_tokens and isinstance(limit, int) and pieces
                and _tokens("".join(pieces)) > limit):
            pieces, finish = _cut_to(pieces, limit * 4), "length"  # 4 characters a token
        prompt_tokens = _tokens(json.dumps(body.get("messages")))
        completion_tokens = _tokens("".join(pieces)) if pieces else 0
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        ident, created = f"chatcmpl-fake{id(rec):x}", int(time.time())
        if not rec.stream:
            if not self._wait(beh.latency) or beh.kind in ("disconnect", "cut"):
                self._cut()
                return None
            refusal = REFUSAL if beh.kind == "refusal" else None
            msg = {"role": "assistant", "content": None if refusal else "".join(pieces),
                   "refusal": refusal}
            self._send_json(200, {
                "id": ident, "object": "chat.completion", "created": created, "model": rec.model,
                "system_fingerprint": "fp_fake", "usage": usage if beh.usage else None,
                "choices": [{"index": 0, "message": msg, "logprobs": None,
                             "finish_reason": finish}],
            }, limits)
            return 200

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        include_usage = include_usage and beh.usage
        framing = set(beh.framing)
        newline = "\r\n" if "crlf" in framing else "\n"

        def send(data: Any) -> None:
            """One server-sent event: ``data`` as JSON, or a string as it is ([DONE])."""
            if not isinstance(data, str):
                data = json.dumps(data, ensure_ascii="utf8" not in framing,
                                  indent=1 if "multiline" in framing else None)
            lines = [f"data: {line}{newline}" for line in data.split("\n")]
            comment = [f": keep-alive{newline}"] if "comments" in framing else []
            raw = "".join([*comment, *lines, newline]).encode()
            if "split" in framing:
                self._chunk(raw[:len(raw) // 2])
                raw = raw[len(raw) // 2:]
            self._chunk(raw)

        def event(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> None:
            obj: dict[str, Any] = {
                "id": ident, "object": "chat.completion.chunk", "created": created,
                "model": rec.model, "system_fingerprint": "fp_fake",
                "choices": [] if delta is None else [{
                    "index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if include_usage:
                obj["usage"] = None
            obj.update(extra)
            send(obj)

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
        if beh.kind == "refusal":
            event({"refusal": REFUSAL})
        if beh.kind == "error_event":
            send({"error": {"message": "The server had an error while processing your request "
                            "(fake).", "type": "server_error", "param": None, "code": None}})
        if finish is not None:
            event({}, finish)
        if beh.kind in ("cut", "error_event"):
            self._chunk(b"")  # a well-formed end of the body, with nothing to say it is early
            return 200
        if include_usage:
            event(None, usage=usage)
        send("[DONE]")
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
                 default: Behavior | None = None, verbose: bool = False,
                 reasoning: bool | str = False) -> None:
        self.host, self.port, self.verbose = host, port, verbose
        # True (REASONING_MODELS) or a regex: those models answer max_tokens or a temperature
        # other than 1 with OpenAI's 400 "unsupported parameter/value".
        self.reasoning = reasoning
        # True: an answer longer than the request's max_tokens (or max_completion_tokens) is
        # cut there with finish_reason "length" and that usage, as OpenAI does; the budget's
        # worst case (app/batches/spend/costs.py) relies on it. Off by default: most tests ask for
        # whole articles under small limits.
        self.honor_max_tokens = False
        # Articles begin with the SEO front-matter block the prompt asks for; False: answers
        # without it, as a model that ignores the instruction (the fields are then derived).
        self.front_matter = True
        self.default = default or Behavior()
        self.in_flight = self.max_in_flight = 0
        self._rules: list[_Rule] = []
        self._records: list[Record] = []
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        # The Batch API (/v1/files, /v1/batches); imported here as it reuses make_pieces.
        from tests.support.fake_batches import FakeBatches

        self.batches = FakeBatches()

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
            self.honor_max_tokens = False
            self.front_matter = True
            self.max_in_flight = self.in_flight
        self.batches.reset()

    @property
    def requests(self) -> list[Record]:
        """Copies of the chat completion records, in arrival order."""
        with self._lock:
            return [replace(r, headers=dict(r.headers), params=dict(r.params))
                    for r in self._records]

    def count(self, match: str | None = None) -> int:
        """Chat completion requests seen, all of them or only those matched by rule ``match``."""
        with self._lock:
            return sum(1 for r in self._records if match is None or r.match == match)

    # -- called by handler threads ------------------------------------------------------
    def _unsupported(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """OpenAI's 400 error for a reasoning model sent max_tokens or a temperature, if any."""
        pattern = REASONING_MODELS if self.reasoning is True else self.reasoning
        if not pattern or not re.search(pattern, str(body.get("model", ""))):
            return None
        if "max_tokens" in body:
            return {"message": "Unsupported parameter: 'max_tokens' is not supported with this "
                    "model. Use 'max_completion_tokens' instead.",
                    "type": "invalid_request_error", "param": "max_tokens",
                    "code": "unsupported_parameter"}
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            return {"message": f"Unsupported value: 'temperature' does not support {temperature} "
                    "with this model. Only the default (1) value is supported.",
                    "type": "invalid_request_error", "param": "temperature",
                    "code": "unsupported_value"}
        return None

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

    def _status(self, rec: Record, status: int) -> None:
        with self._lock:
            rec.status = status

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
    p.add_argument("--kind", default="ok", choices=[k for k in KINDS if k != "text"],
                   help="default behaviour")
    p.add_argument("--latency", type=float, default=0.0,
                   help="seconds before the reply; total stream duration when streaming")
    p.add_argument("--chunks", type=int, default=8, help="content chunks per completion")
    p.add_argument("--retry-after", type=float, default=None, help="Retry-After for 429")
    p.add_argument("--no-usage", action="store_true", help="never send usage (llama.cpp)")
    p.add_argument("--reasoning", action="store_true",
                   help="o1/o3/o4/gpt-5 models refuse max_tokens and temperature with a 400")
    p.add_argument("--no-front-matter", action="store_true",
                   help="articles without the SEO front-matter block the prompt asks for")
    p.add_argument("--verbose", action="store_true", help="log every request")
    a = p.parse_args(argv)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background (SIG_IGN)
        signal.signal(sig, lambda *_: done.set())
    srv = FakeOpenAI(a.host, a.port, Behavior(a.kind, a.latency, a.chunks, a.retry_after,
                                              usage=not a.no_usage),
                     verbose=a.verbose, reasoning=a.reasoning)
    srv.front_matter = not a.no_front_matter
    srv.start()
    print(srv.base_url, flush=True)
    while not done.wait(0.5):
        pass
    srv.stop()


if __name__ == "__main__":
    main()
