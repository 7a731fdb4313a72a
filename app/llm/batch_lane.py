"""The Batch API lane: the same chat requests as real time, at the Batch API's price, within 24 h.

Through the openai SDK, so it works with OpenAI and any server that implements `/v1/files` and
`/v1/batches`:

    lines = build_lines(requests_for(items, {"model": "gpt-4o-mini", "max_tokens": 1500}))
    ids = submit(client, lines, {"trustagency_batch": "42"})   # several above 50,000 / 200 MB
    # or in steps, so the caller can record what it is about to create (app.batches.provider_lane):
    file_id = upload(client, lines)
    state = create(client, file_id, {"trustagency_intent": "intent-1"})
    state = find(client, "trustagency_intent", "intent-1", since=created_at)  # after a crash
    state = poll(client, ids[0])          # every BATCH_POLL_SECONDS until state.done
    results = read_results(client, state, expected=custom_ids)
    cancel(client, ids[0])                # keeps the lines finished before

Provider statuses: `validating -> in_progress -> finalizing -> completed`, or `failed` (the
input file was refused: `BatchState.errors`), `expired` (not done within the window: the output
file holds the lines that were), `cancelling -> cancelled` (likewise). Results are matched to
requests by `custom_id`, never by position: providers write outputs in any order.

SDK errors are raised as the real-time lane's classes (`app.llm.base.LLMError`: transient,
rate limited, permanent), so the caller's retry policy applies unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import openai

from app.llm.base import ArticleRequest, LLMError
from app.llm.openai_provider import OpenAIProvider, classify
from app.llm.prompt import build_messages

log = logging.getLogger(__name__)

ENDPOINT: Literal["/v1/chat/completions"] = "/v1/chat/completions"
COMPLETION_WINDOW: Literal["24h"] = "24h"
# OpenAI's limits per provider batch: 50,000 requests and a 200 MB input file (read as decimal
# megabytes, the smaller reading).
MAX_LINES = 50_000
MAX_BYTES = 200_000_000
STATUSES = ("validating", "failed", "in_progress", "finalizing", "completed", "expired",
            "cancelling", "cancelled")
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
# Request parameters that make no sense in a batch: every line is answered whole.
_STREAM_KEYS = ("stream", "stream_options")
# Error codes of lines a batch never ran; they can go to the real-time lane as they are.
NOT_RUN = frozenset({"batch_expired", "batch_cancelled", "missing"})

# (custom_id, messages, request parameters: model, max_tokens, temperature ...)
BatchRequest = tuple[str, Sequence[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class BatchState:
    """One provider batch as last polled."""

    id: str
    status: str
    total: int
    completed: int  # lines answered successfully so far
    failed: int  # lines answered with an error so far
    output_file_id: str | None
    error_file_id: str | None
    errors: tuple[str, ...] = ()  # why the input file was refused ("line 3: ...")
    metadata: Mapping[str, str] | None = None

    @property
    def done(self) -> bool:
        """No further change: read the results (`failed` has none)."""
        return self.status in TERMINAL

    @property
    def finished(self) -> int:
        return self.completed + self.failed


@dataclass(frozen=True)
class LineResult:
    """The answer to one request line, or why there is none."""

    custom_id: str
    content: str | None = None
    finish_reason: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None  # "500: The server had an error ...", "batch_expired: ..."
    error_code: str | None = None  # the error's code, or NOT_RUN's codes
    status_code: int | None = None  # the line's HTTP status, when it ran

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def ran(self) -> bool:
        """The provider ran the request (and may bill it), successfully or not."""
        return self.error_code not in NOT_RUN

    @property
    def retryable(self) -> bool:
        """Worth another attempt in real time: never run, rate limited, 5xx, or empty."""
        if self.ok:
            return False
        status = self.status_code
        return status is None or status in (408, 409, 429) or status >= 500 or status == 200


class SubmitError(LLMError):
    """Submitting one of the provider batches failed. The ones created before it were
    cancelled (best effort); `batch_ids` names them, so they can be checked."""

    def __init__(self, message: str, *, batch_ids: list[str], cause: LLMError) -> None:
        super().__init__(message, status=cause.status)
        self.retryable = cause.retryable
        self.batch_ids = batch_ids


def supported(provider: object) -> bool:
    """Whether `provider` can take Batch API work (the offline writer cannot)."""
    return isinstance(provider, OpenAIProvider)


def requests_for(items: Iterable[tuple[str | int, ArticleRequest]],
                 params: Mapping[str, Any]) -> list[BatchRequest]:
    """Requests with the real-time lane's prompt (`app.llm.prompt.build_messages`)."""
    return [(str(custom_id), build_messages(request), params) for custom_id, request in items]


def build_lines(requests: Iterable[BatchRequest]) -> list[bytes]:
    """One JSONL line (ending in a newline) per request: a non-streamed chat completion.

    `custom_id`s must be unique and non-empty; `params` must name the model.
    """
    lines: list[bytes] = []
    seen: set[str] = set()
    for custom_id, messages, params in requests:
        custom_id = str(custom_id)
        if not custom_id or custom_id in seen:
            raise ValueError(f"custom_id must be unique and non-empty, got {custom_id!r}")
        seen.add(custom_id)
        if not params.get("model"):
            raise ValueError(f"request {custom_id!r}: params must name the model")
        body = {k: v for k, v in params.items() if k not in _STREAM_KEYS and k != "messages"}
        body["messages"] = [dict(m) for m in messages]
        line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode()
                     + b"\n")
    return lines


def split(lines: Sequence[bytes], max_lines: int = MAX_LINES,
          max_bytes: int = MAX_BYTES) -> list[list[bytes]]:
    """The lines in order, in as few groups as fit `max_lines` and `max_bytes` each."""
    if max_lines < 1 or max_bytes < 1:
        raise ValueError("max_lines and max_bytes must be positive")
    groups: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) > max_bytes:
            raise ValueError(f"a line of {len(line)} bytes is over the {max_bytes}-byte limit")
        if current and (len(current) >= max_lines or size + len(line) > max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        groups.append(current)
    return groups


def submit(client: openai.OpenAI, lines: Sequence[bytes], metadata: Mapping[str, Any],
           *, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES) -> list[str]:
    """Upload the lines and create one provider batch per group of `split`; their ids in order.

    Each batch's metadata is `metadata` (values as strings) plus `part` ("1/3"). Raises
    `SubmitError` (an LLMError) when any step fails, after cancelling the batches already made.
    """
    groups = split(lines, max_lines, max_bytes)
    if not groups:
        raise ValueError("no lines to submit")
    base = {str(k): str(v) for k, v in metadata.items()}
    ids: list[str] = []
    try:
        for number, group in enumerate(groups, 1):
            file_id = upload(client, group, f"trustagency-{number}-of-{len(groups)}.jsonl")
            ids.append(create(client, file_id, {**base, "part": f"{number}/{len(groups)}"}).id)
    except LLMError as error:
        for batch_id in ids:
            try:
                client.batches.cancel(batch_id)
            except openai.OpenAIError as cancel_exc:
                log.warning("could not cancel provider batch %s: %s", batch_id, cancel_exc)
        raise SubmitError(f"submitting part {len(ids) + 1}/{len(groups)} failed: {error}",
                          batch_ids=ids, cause=error) from error
    return ids


def upload(client: openai.OpenAI, lines: Sequence[bytes],
           filename: str = "trustagency.jsonl") -> str:
    """Upload one provider batch's input file (the lines of one group of `split`); its id.
    An uploaded file costs nothing until a batch is created from it."""
    if not lines:
        raise ValueError("no lines to upload")
    try:
        return client.files.create(file=(filename, b"".join(lines), "application/jsonl"),
                                   purpose="batch").id
    except openai.OpenAIError as exc:
        raise classify(exc) from exc


def create(client: openai.OpenAI, file_id: str, metadata: Mapping[str, Any]) -> BatchState:
    """Create the provider batch of an uploaded file (from here on it is paid for), with
    `metadata` (values as strings) by which `find` can look it up again."""
    try:
        return _state(client.batches.create(
            input_file_id=file_id, endpoint=ENDPOINT, completion_window=COMPLETION_WINDOW,
            metadata={str(k): str(v) for k, v in metadata.items()}))
    except openai.OpenAIError as exc:
        raise classify(exc) from exc


def find(client: openai.OpenAI, key: str, value: str, *, input_file_id: str | None = None,
         since: float | None = None) -> BatchState | None:
    """The provider batch whose metadata has `key` = `value` (and whose input file is
    `input_file_id`, when given), or None. The list is newest first: the search stops at
    batches created before `since` (unix seconds; a minute's margin for clocks)."""
    try:
        for batch in client.batches.list(limit=100):  # the SDK pages on as it iterates
            if since is not None and batch.created_at < since - 60:
                return None
            if (batch.metadata or {}).get(key) == value and (
                    input_file_id is None or batch.input_file_id == input_file_id):
                return _state(batch)
    except openai.OpenAIError as exc:
        raise classify(exc) from exc
    return None


def poll(client: openai.OpenAI, batch_id: str) -> BatchState:
    """The provider batch's status, request counts and result files."""
    try:
        return _state(client.batches.retrieve(batch_id))
    except openai.OpenAIError as exc:
        raise classify(exc) from exc


def cancel(client: openai.OpenAI, batch_id: str) -> BatchState:
    """Ask the provider to stop; it goes `cancelling`, then `cancelled` with the lines finished
    before in its output file. A batch that ended meanwhile is returned as it is."""
    try:
        return _state(client.batches.cancel(batch_id))
    except openai.ConflictError:  # 409: already completed, failed or expired
        return poll(client, batch_id)
    except openai.OpenAIError as exc:
        raise classify(exc) from exc


def read_results(client: openai.OpenAI, state: BatchState,
                 expected: Iterable[str] | None = None) -> list[LineResult]:
    """Every line's result from the output and error files, by custom_id.

    With `expected` (the submitted custom_ids), the list follows it: a line in neither file
    (a provider that omits the lines it never ran) gets error_code "missing", and a custom_id
    not expected is logged and dropped. Without it, the files' lines, successes first.
    """
    found: dict[str, LineResult] = {}
    for file_id in (state.output_file_id, state.error_file_id):
        if not file_id:
            continue
        for result in _parse_file(_download(client, file_id)):
            prior = found.get(result.custom_id)
            if prior is None or (not prior.ok and result.ok):  # a success wins over an error
                found[result.custom_id] = result
    if expected is None:
        return sorted(found.values(), key=lambda r: not r.ok)
    wanted = [str(custom_id) for custom_id in expected]
    extra = set(found) - set(wanted)
    if extra:
        log.warning("provider batch %s returned %d unexpected custom_ids (dropped), e.g. %r",
                    state.id, len(extra), sorted(extra)[0])
    missing_error = (f"not in the output or error file of provider batch {state.id} "
                     f"({state.status})")
    return [found.get(custom_id) or LineResult(custom_id, error=missing_error,
                                                error_code="missing")
            for custom_id in wanted]


# -- internals -------------------------------------------------------------------------------

def _state(batch: Any) -> BatchState:
    counts = batch.request_counts
    errors = []
    for err in (batch.errors.data or []) if batch.errors else []:
        where = f"line {err.line}: " if err.line is not None else ""
        errors.append(f"{where}{err.message or err.code}")
    return BatchState(
        id=batch.id, status=batch.status,
        total=counts.total if counts else 0, completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        output_file_id=batch.output_file_id, error_file_id=batch.error_file_id,
        errors=tuple(errors), metadata=dict(batch.metadata) if batch.metadata else None,
    )


def _download(client: openai.OpenAI, file_id: str) -> bytes:
    try:
        return client.files.content(file_id).content
    except openai.OpenAIError as exc:
        raise classify(exc) from exc


def _parse_file(data: bytes) -> Iterable[LineResult]:
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            custom_id = str(line["custom_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("skipping unreadable result line %d: %.200r", number, raw)
            continue
        yield _parse_line(custom_id, line)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _parse_line(custom_id: str, line: Mapping[str, Any]) -> LineResult:
    response = line.get("response")
    if not isinstance(response, Mapping):
        error = _mapping(line.get("error"))
        code = str(error.get("code") or "error")
        return LineResult(custom_id, error=f"{code}: {error.get('message') or 'no response'}",
                          error_code=code)
    status = int(response.get("status_code") or 0)
    body = _mapping(response.get("body"))
    if status != 200:
        inner = _mapping(body.get("error"))
        message = inner.get("message") or json.dumps(body)[:200]
        return LineResult(custom_id, error=f"{status}: {message}",
                          error_code=inner.get("code") or inner.get("type"), status_code=status)
    usage = _mapping(body.get("usage"))
    choices = body.get("choices") or [{}]
    choice = _mapping(choices[0])
    message = _mapping(choice.get("message"))
    content = message.get("content")
    result = LineResult(
        custom_id, content=content if isinstance(content, str) else None,
        finish_reason=choice.get("finish_reason"), model=body.get("model"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0), status_code=status,
    )
    if not (result.content or "").strip():
        refusal = message.get("refusal")
        why = f"refused: {refusal}" if refusal else "the provider returned an empty article"
        return replace(result, content=None, error=why, error_code="empty")
    return result
