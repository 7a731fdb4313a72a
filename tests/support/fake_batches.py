"""The Batch API of the fake OpenAI server: `/v1/files` and `/v1/batches`, driven by time.

It behaves like OpenAI's, for the openai SDK's `files.create(purpose="batch")`,
`files.retrieve`, `files.content`, `batches.create/retrieve/list/cancel`:

* the input file is validated like OpenAI's (JSONL, unique `custom_id`, `POST` to the batch's
  endpoint, one model, no streaming, at most `max_lines` lines and `max_bytes`); a bad file
  ends the batch `failed` with `errors`;
* states follow the clock, computed whenever the batch is read: `validating` ->
  `in_progress` (lines finish evenly over `BatchBehavior.in_progress` seconds, so
  `request_counts` grow) -> `finalizing` -> `completed`; or `expired` after
  `expire_after` lines; or, after a cancel, `cancelling` for `cancelling` seconds, then
  `cancelled`. Lines stop finishing at the cancel;
* lines finish in a shuffled order (seeded by the batch id), so the output file is not in
  input order: results must be matched by `custom_id`;
* the output file holds one `{"id", "custom_id", "response": {"status_code": 200,
  "request_id", "body": <chat.completion>}, "error": null}` per finished line, its article from
  the server's own generator (`make_pieces`); failing lines (`fail()` rules, by custom_id or
  by text in the messages) go to the error file with their status and error body, and lines
  a batch never reached (expired, cancelled) go there with `batch_expired` / `batch_cancelled`;
  lines matched by an `answer()` rule are answered with its text instead (a refusal written as
  prose, a too-short article: what the quality checks must catch);
* `GET /v1/batches` lists newest first, `limit` at a time (default 20) after the `after` id, as
  OpenAI pages it; each batch carries the metadata it was created with.

Everything uploaded and created is recorded (`uploads`, `batches`) for tests to assert on.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_openai import _message_text, _tokens, make_pieces

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

ENDPOINTS = ("/v1/chat/completions",)
TERMINAL = ("completed", "failed", "expired", "cancelled")
FILE_TTL = 30 * 86400  # batch files expire after 30 days at OpenAI


@dataclass(frozen=True)
class BatchBehavior:
    """How one batch moves: seconds per state, and whether it expires.

    Lines finish evenly over `in_progress` seconds. With `expire_after`, the batch goes
    `expired` once that many lines are done (the rest never run).
    """

    validating: float = 0.05
    in_progress: float = 0.2
    finalizing: float = 0.05
    cancelling: float = 0.1
    expire_after: int | None = None
    shuffle: bool = True
    chunks: int = 4  # paragraphs per generated article


@dataclass(frozen=True)
class FailRule:
    """Lines whose custom_id equals `match`, or whose messages contain it, fail like this."""

    match: str
    status: int = 500
    message: str = "The server had an error while processing your request (fake)."
    type: str = "server_error"
    code: str | None = None


@dataclass(frozen=True)
class AnswerRule:
    """Lines whose custom_id equals `match`, or whose messages contain it, are answered with
    `text` and `finish_reason`."""

    match: str
    text: str
    finish_reason: str = "stop"


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": len(self.data),
                "created_at": self.created_at, "filename": self.filename,
                "purpose": self.purpose, "status": "processed",
                "expires_at": self.created_at + FILE_TTL, "status_details": None}

    @property
    def lines(self) -> list[dict[str, Any]]:
        """The file's JSONL lines, parsed (blank lines skipped)."""
        return [json.loads(line) for line in self.data.splitlines() if line.strip()]


@dataclass
class FakeBatch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    behavior: BatchBehavior
    lines: list[dict[str, Any]]
    errors: list[dict[str, Any]]  # validation errors: the batch fails
    order: list[int]  # indices of `lines` in the order they finish
    failures: dict[int, FailRule]  # line index -> its rule, decided at creation
    texts: dict[int, AnswerRule]  # line index -> the answer it gets instead of an article
    started: float  # time.monotonic() at creation
    created_at: int  # unix seconds
    cancel_requested: float | None = None  # monotonic
    done_at_cancel: int = 0
    status: str = "validating"
    stamps: dict[str, int] = field(default_factory=dict)  # in_progress_at, completed_at ...
    output_file_id: str | None = None
    error_file_id: str | None = None
    output_order: list[str] = field(default_factory=list)  # custom_ids as written to output
    answers: dict[str, str] = field(default_factory=dict)  # custom_id -> the article written


class FakeBatches:
    """State and routes of the Batch API; `FakeOpenAI.batches` is one."""

    def __init__(self) -> None:
        self.behavior = BatchBehavior()
        self.max_lines = 50_000
        self.max_bytes = 200_000_000
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, FakeBatch] = {}
        self.uploads: list[StoredFile] = []  # purpose=batch uploads, in arrival order
        self._planned: deque[BatchBehavior] = deque()
        self._rules: list[FailRule] = []
        self._answers: list[AnswerRule] = []
        self._lock = threading.RLock()

    # -- test controls ----------------------------------------------------------------------
    def plan(self, *behaviors: BatchBehavior) -> None:
        """The next batches created get these behaviours, in order; then `behavior`."""
        with self._lock:
            self._planned.extend(behaviors)

    def fail(self, match: str, status: int = 500, message: str | None = None,
             type: str = "server_error", code: str | None = None) -> None:
        """Lines with custom_id `match`, or `match` in their messages, fail with `status`."""
        rule = FailRule(match, status, message or FailRule.message, type, code)
        with self._lock:
            self._rules.append(rule)

    def answer(self, match: str, text: str, finish_reason: str = "stop") -> None:
        """Lines with custom_id `match`, or `match` in their messages, are answered `text`."""
        with self._lock:
            self._answers.append(AnswerRule(match, text, finish_reason))

    def reset(self) -> None:
        with self._lock:
            self.behavior = BatchBehavior()
            self.max_lines, self.max_bytes = 50_000, 200_000_000
            self.files.clear()
            self.batches.clear()
            self.uploads.clear()
            self._planned.clear()
            self._rules.clear()
            self._answers.clear()

    def get(self, batch_id: str) -> FakeBatch:
        """The batch, its state brought up to now."""
        with self._lock:
            batch = self.batches[batch_id]
            self._advance(batch)
            return batch

    def input_lines(self, batch_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.batches[batch_id].lines)

    # -- HTTP ---------------------------------------------------------------------------------
    def route(self, handler: BaseHTTPRequestHandler, method: str) -> bool:
        """Answer a /v1/files or /v1/batches request; False for any other path."""
        url = urlsplit(handler.path)
        parts = url.path.rstrip("/").split("/")[2:]  # "", "v1", ...
        if not parts or parts[0] not in ("files", "batches"):
            return False
        body = _read_body(handler) if method == "POST" else b""
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            status, payload = self._dispatch(method, parts, body, handler.headers, query)
        except _ApiError as exc:
            status, payload = exc.status, {"error": {
                "message": exc.message, "type": "invalid_request_error", "param": exc.param,
                "code": exc.code}}
        send = getattr(handler, "_send_json")  # noqa: B009 - the fake server's own helper
        if isinstance(payload, bytes):
            handler.send_response(status)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        else:
            send(status, payload)
        return True

    def _dispatch(self, method: str, parts: list[str], body: bytes, headers: Any,
                  query: dict[str, str]) -> tuple[int, dict[str, Any] | bytes]:
        kind, rest = parts[0], parts[1:]
        with self._lock:
            if kind == "files":
                if method == "POST" and not rest:
                    return 200, self._upload(body, headers.get("Content-Type", ""))
                if method == "GET" and len(rest) == 1:
                    return 200, self._file(rest[0]).as_json()
                if method == "GET" and len(rest) == 2 and rest[1] == "content":
                    return 200, self._file(rest[0]).data
            else:
                if method == "POST" and not rest:
                    return 200, self._create(_json(body))
                if method == "GET" and not rest:
                    return 200, self._list(query)
                if method == "GET" and len(rest) == 1:
                    return 200, self._as_json(self._batch(rest[0]))
                if method == "POST" and len(rest) == 2 and rest[1] == "cancel":
                    return 200, self._cancel(self._batch(rest[0]))
        raise _ApiError(404, f"Unknown path /v1/{'/'.join(parts)} (fake).")

    # -- files --------------------------------------------------------------------------------
    def _upload(self, body: bytes, content_type: str) -> dict[str, Any]:
        fields = _multipart(body, content_type)
        purpose = fields.get("purpose", (None, b""))[1].decode()
        if "file" not in fields:
            raise _ApiError(400, "Missing file (fake).", param="file")
        if purpose != "batch":
            raise _ApiError(400, f"This fake only takes purpose=batch, got {purpose!r}.",
                            param="purpose")
        filename, data = fields["file"]
        stored = self._store(filename or "upload.jsonl", "batch", data)
        self.uploads.append(stored)
        return stored.as_json()

    def _store(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        stored = StoredFile(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, data,
                            int(time.time()))
        self.files[stored.id] = stored
        return stored

    def _file(self, file_id: str) -> StoredFile:
        if file_id not in self.files:
            raise _ApiError(404, f"No such File object: {file_id}", param="id")
        return self.files[file_id]

    # -- batches ------------------------------------------------------------------------------
    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        endpoint = body.get("endpoint")
        if endpoint not in ENDPOINTS:
            raise _ApiError(400, f"Unsupported endpoint {endpoint!r} (fake).", param="endpoint")
        if body.get("completion_window") != "24h":
            raise _ApiError(400, "completion_window must be '24h'.", param="completion_window")
        source = self._file(str(body.get("input_file_id")))
        if source.purpose != "batch":
            raise _ApiError(400, "The input file must have purpose batch.",
                            param="input_file_id")
        metadata = body.get("metadata")
        if metadata is not None and (len(metadata) > 16 or any(
                not isinstance(v, str) or len(k) > 64 or len(v) > 512
                for k, v in metadata.items())):
            raise _ApiError(400, "metadata: at most 16 string pairs (keys <= 64, values <= 512).",
                            param="metadata")
        lines, errors = self._validate(source.data, str(endpoint))
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        behavior = self._planned.popleft() if self._planned else self.behavior
        order = list(range(len(lines)))
        if behavior.shuffle:
            random.Random(batch_id).shuffle(order)
        failures, texts = {}, {}
        for i, line in enumerate(lines):
            text = "\n".join(_message_text(m.get("content"))
                             for m in line["body"].get("messages") or [])
            for rule in self._rules:
                if rule.match == line["custom_id"] or rule.match in text:
                    failures[i] = rule
                    break
            for answer in self._answers:
                if answer.match == line["custom_id"] or answer.match in text:
                    texts[i] = answer
                    break
        batch = FakeBatch(
            id=batch_id, input_file_id=source.id, endpoint=str(endpoint),
            completion_window="24h", metadata=metadata, behavior=behavior,
            lines=lines if not errors else [], errors=errors, order=order if not errors else [],
            failures=failures if not errors else {}, texts=texts if not errors else {},
            started=time.monotonic(),
            created_at=int(time.time()))
        self.batches[batch_id] = batch
        return self._as_json(batch)

    def _validate(self, data: bytes, endpoint: str) -> tuple[list[dict[str, Any]],
                                                            list[dict[str, Any]]]:
        """The input file's lines, and OpenAI-style validation errors (empty when valid)."""
        errors: list[dict[str, Any]] = []

        def error(line: int | None, message: str, param: str | None = None,
                  code: str = "invalid_request") -> None:
            errors.append({"code": code, "line": line, "message": message, "param": param})

        if len(data) > self.max_bytes:
            error(None, f"The input file is larger than {self.max_bytes} bytes.",
                  code="file_too_large")
        raw = [line for line in data.splitlines() if line.strip()]
        if len(raw) > self.max_lines:
            error(None, f"The input file has more than {self.max_lines} requests.",
                  code="too_many_requests")
        if not raw:
            error(None, "The input file is empty.", code="empty_file")
        lines: list[dict[str, Any]] = []
        seen: set[str] = set()
        models: set[str] = set()
        for number, text in enumerate(raw, 1):
            try:
                line = json.loads(text)
            except ValueError:
                error(number, "Invalid JSON.", code="invalid_json")
                continue
            if not isinstance(line, dict):
                error(number, "Each line must be a JSON object.", code="invalid_json")
                continue
            custom_id, body = line.get("custom_id"), line.get("body")
            if not isinstance(custom_id, str) or not custom_id:
                error(number, "custom_id must be a non-empty string.", "custom_id")
            elif custom_id in seen:
                error(number, f"Duplicate custom_id {custom_id!r}.", "custom_id",
                      code="duplicate_custom_id")
            else:
                seen.add(custom_id)
            if line.get("method") != "POST":
                error(number, "method must be POST.", "method")
            if line.get("url") != endpoint:
                error(number, f"url must be {endpoint}, the batch's endpoint.", "url",
                      code="mismatched_endpoint")
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                error(number, "body must be a chat completion request with messages.", "body")
                continue
            if body.get("stream"):
                error(number, "Streaming is not supported in batches.", "body.stream")
            models.add(str(body.get("model")))
            lines.append(line)
        if len(models) > 1:
            error(None, f"All requests must use one model, got {sorted(models)}.",
                  "body.model", code="mismatched_model")
        return lines, errors

    def _batch(self, batch_id: str) -> FakeBatch:
        if batch_id not in self.batches:
            raise _ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        batch = self.batches[batch_id]
        self._advance(batch)
        return batch

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        newest_first = list(reversed(list(self.batches)))
        after = query.get("after")
        if after is not None:
            if after not in self.batches:
                raise _ApiError(400, f"No batch found with id '{after}'.", param="after")
            newest_first = newest_first[newest_first.index(after) + 1:]
        limit = int(query.get("limit") or 20)
        if not 1 <= limit <= 100:
            raise _ApiError(400, "limit must be between 1 and 100.", param="limit")
        data = [self._as_json(self._batch(b)) for b in newest_first[:limit]]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(newest_first) > limit}

    def _cancel(self, batch: FakeBatch) -> dict[str, Any]:
        if batch.status in TERMINAL or batch.status == "cancelling":
            if batch.status in ("cancelling", "cancelled"):
                return self._as_json(batch)
            raise _ApiError(409, f"Cannot cancel a batch with status {batch.status}.")
        batch.done_at_cancel = self._processed(batch)  # lines stop finishing now
        batch.cancel_requested = time.monotonic()
        self._advance(batch)
        return self._as_json(batch)

    # -- the clock ----------------------------------------------------------------------------
    def _done(self, batch: FakeBatch, now: float) -> int:
        """Lines finished by `now` while in progress."""
        beh, total = batch.behavior, len(batch.lines)
        elapsed = now - batch.started - beh.validating
        done = total if beh.in_progress <= 0 else int(total * max(0.0, elapsed) / beh.in_progress)
        return min(total, done)

    def _stamp(self, batch: FakeBatch, name: str, at: float) -> None:
        batch.stamps.setdefault(name, batch.created_at + round(at - batch.started))

    def _advance(self, batch: FakeBatch) -> None:
        """Bring the batch's status (and, once terminal, its files) up to the clock."""
        if batch.status in TERMINAL:
            return
        now, beh, total = time.monotonic(), batch.behavior, len(batch.lines)
        validated = batch.started + beh.validating
        if batch.cancel_requested is not None:
            self._stamp(batch, "cancelling_at", batch.cancel_requested)
            ends = batch.cancel_requested + beh.cancelling
            if now < ends:
                batch.status = "cancelling"
                return
            self._stamp(batch, "cancelled_at", ends)
            self._finish(batch, "cancelled", batch.done_at_cancel, "batch_cancelled",
                         "The batch was cancelled before this request executed.")
            return
        if now < validated:
            batch.status = "validating"
            return
        if batch.errors:
            self._stamp(batch, "failed_at", validated)
            batch.status = "failed"
            return
        self._stamp(batch, "in_progress_at", validated)
        done = self._done(batch, now)
        if beh.expire_after is not None and beh.expire_after < total \
                and done >= beh.expire_after:
            at = validated + beh.in_progress * beh.expire_after / max(1, total)
            self._stamp(batch, "expired_at", at)
            self._finish(batch, "expired", beh.expire_after, "batch_expired",
                         "This request could not be executed before the completion window "
                         "expired.")
            return
        if done < total:
            batch.status = "in_progress"
            return
        processed = validated + beh.in_progress
        self._stamp(batch, "finalizing_at", processed)
        if now < processed + beh.finalizing:
            batch.status = "finalizing"
            return
        self._stamp(batch, "completed_at", processed + beh.finalizing)
        self._finish(batch, "completed", total, "", "")

    def _finish(self, batch: FakeBatch, status: str, done: int, code: str,
                message: str) -> None:
        """Write the output and error files of a batch that ends with `done` lines finished."""
        outputs, errors = [], []
        for position, index in enumerate(batch.order):
            line = batch.lines[index]
            ident = f"batch_req_{uuid.uuid4().hex[:24]}"
            if position >= done:
                errors.append({"id": ident, "custom_id": line["custom_id"], "response": None,
                               "error": {"code": code, "message": message}})
                continue
            request_id = f"req_{uuid.uuid4().hex[:24]}"
            rule = batch.failures.get(index)
            if rule is not None:
                errors.append({"id": ident, "custom_id": line["custom_id"], "error": None,
                               "response": {"status_code": rule.status, "request_id": request_id,
                                            "body": {"error": {
                                                "message": rule.message, "type": rule.type,
                                                "param": None, "code": rule.code}}}})
                continue
            completion = self._completion(batch, line["body"], batch.texts.get(index))
            outputs.append({"id": ident, "custom_id": line["custom_id"], "error": None,
                            "response": {"status_code": 200, "request_id": request_id,
                                         "body": completion}})
            batch.output_order.append(line["custom_id"])
            batch.answers[line["custom_id"]] = completion["choices"][0]["message"]["content"]
        if outputs:
            batch.output_file_id = self._store(f"{batch.id}_output.jsonl", "batch_output",
                                               _jsonl(outputs)).id
        if errors:
            batch.error_file_id = self._store(f"{batch.id}_error.jsonl", "batch_output",
                                              _jsonl(errors)).id
        batch.status = status

    def _completion(self, batch: FakeBatch, body: dict[str, Any],
                    rule: AnswerRule | None = None) -> dict[str, Any]:
        messages = body.get("messages") or []
        users = [_message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        content = (rule.text if rule is not None
                   else "".join(make_pieces(users[-1] if users else "", batch.behavior.chunks)))
        prompt_tokens, completion_tokens = _tokens(json.dumps(messages)), _tokens(content)
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
                "created": int(time.time()), "model": str(body.get("model", "")),
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                     "refusal": None},
                             "logprobs": None,
                             "finish_reason": rule.finish_reason if rule else "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}

    def _processed(self, batch: FakeBatch) -> int:
        """Lines the batch has got through (succeeded or failed) in its current state."""
        if batch.status in ("validating", "failed"):
            return 0
        if batch.status == "in_progress":
            return self._done(batch, time.monotonic())
        if batch.status in ("cancelling", "cancelled"):
            return batch.done_at_cancel
        if batch.status == "expired":
            return batch.behavior.expire_after or 0
        return len(batch.lines)  # finalizing, completed

    def _as_json(self, batch: FakeBatch) -> dict[str, Any]:
        processed = self._processed(batch)
        failed = sum(1 for i in batch.order[:processed] if i in batch.failures)
        started = batch.status not in ("validating", "failed")
        counts = {"total": len(batch.lines) if started else 0,
                  "completed": processed - failed, "failed": failed}
        return {
            "id": batch.id, "object": "batch", "endpoint": batch.endpoint,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id, "completion_window": batch.completion_window,
            "status": batch.status, "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id, "created_at": batch.created_at,
            "expires_at": batch.created_at + 86400,
            **{name: batch.stamps.get(name) for name in (
                "in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
                "cancelling_at", "cancelled_at")},
            "request_counts": counts, "metadata": batch.metadata,
        }


class _ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise _ApiError(400, "Invalid JSON body (fake).") from None
    if not isinstance(value, dict):
        raise _ApiError(400, "The body must be a JSON object (fake).")
    return value


_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, bytes) of a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        raise _ApiError(400, "Expected a multipart/form-data upload (fake).")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        params: dict[str, str] = {}
        for header in head.decode("utf-8", "replace").split("\r\n"):
            if header.lower().startswith("content-disposition:"):
                params = dict(_DISPOSITION.findall(header))
        if "name" in params:
            fields[params["name"]] = (params.get("filename"), data.removesuffix(b"\r\n"))
    return fields


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)
