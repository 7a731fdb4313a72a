"""OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp) through the official SDK.

The SDK makes the request; the streamed answer is read from its bytes by app/llm/stream.py.
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import openai

from app.llm.base import (
    ArticleRequest,
    Checkpoint,
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
from app.llm.prompt import build_messages
from app.llm.stream import MalformedEvent, read_stream
from app.llm.tokens import estimate_messages, estimate_text

log = logging.getLogger(__name__)

TokenParameter = Literal["auto", "max_tokens", "max_completion_tokens"]
SendTemperature = Literal["auto", "true", "false"]

# What ends a whole answer. "stop" is OpenAI's; the others are what some compatible servers say.
STOP_REASONS = frozenset({"stop", "eos", "eos_token", "end_turn", "stop_sequence"})
# Asked for by nobody here: the same request would end the same way again.
_UNWANTED_REASONS = frozenset({"tool_calls", "function_call"})

# Reasoning models: the o-series (o1, o1-mini, o3, o4-mini ...) and the gpt-5 family refuse
# `max_tokens` (they take `max_completion_tokens`) and any temperature but the default.
_REASONING_MODEL = re.compile(r"^(?:o\d+|gpt-5)(?:$|[^a-z0-9])", re.I)
_TOKEN_PARAMETERS = ("max_tokens", "max_completion_tokens")


def is_reasoning_model(model: str) -> bool:
    """True for o-series and gpt-5 family names, also behind a router prefix ("openai/o3")."""
    return bool(_REASONING_MODEL.match(model.rsplit("/", 1)[-1]))


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` / `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body)
    return inner if isinstance(inner, dict) else {}


def _error_message(exc: openai.APIStatusError) -> str:
    message = _error_body(exc).get("message")
    return f"{exc.status_code}: {message or exc.message}"


def unsupported_parameter(exc: openai.APIStatusError, sent: Iterable[str]) -> str | None:
    """The parameter a 400 "unsupported parameter/value" names, if it is one we sent.

    OpenAI: {"message": "Unsupported parameter: 'max_tokens' is not supported with this model.
    Use 'max_completion_tokens' instead.", "param": "max_tokens", "code": "unsupported_parameter"}
    and the same with "unsupported_value" for temperature.
    """
    if exc.status_code != 400:
        return None
    inner = _error_body(exc)
    code = str(inner.get("code") or "").lower()
    text = str(inner.get("message") or exc.message or "").lower()
    if not (code.startswith("unsupported") or "unsupported" in text or "not supported" in text):
        return None
    candidates = [name for name in (*_TOKEN_PARAMETERS, "temperature") if name in set(sent)]
    if inner.get("param") in candidates:
        return str(inner["param"])
    named = [(text.find(name), name) for name in candidates if name in text]
    return min(named)[1] if named else None


def _cause(exc: BaseException) -> str:
    """The transport's own words ("peer closed connection ..."), which the SDK's hide."""
    cause = exc.__cause__
    return f" ({type(cause).__name__}: {cause})" if cause is not None and str(cause) else ""


def classify(exc: Exception) -> LLMError:
    """Map an SDK exception to our retry classes (docs/architecture.md), with the reply's
    headers when there was a reply."""
    error = _classify(exc)
    if isinstance(exc, openai.APIStatusError) and error.headers is None:
        error.headers = exc.response.headers
    return error


def _classify(exc: Exception) -> LLMError:
    if isinstance(exc, openai.APITimeoutError):
        return TransientError(f"timeout: {exc}{_cause(exc)}")
    if isinstance(exc, openai.APIConnectionError):
        return TransientError(f"connection error: {exc}{_cause(exc)}")
    if isinstance(exc, openai.APIStatusError):
        message = _error_message(exc)
        status = exc.status_code
        code = getattr(exc, "code", None)
        if status == 429:
            if code == "insufficient_quota" or "quota" in message.lower():
                return PermanentError(f"quota exhausted: {message}", status=status)
            return RateLimited(message, retry_after=parse_retry_after(exc.response.headers))
        if status in (408, 409) or status >= 500:
            return TransientError(message, status=status)
        return PermanentError(message, status=status)
    return TransientError(f"{type(exc).__name__}: {exc}")


@dataclass
class _ModelParams:
    """What one model is sent; learned from the provider's 400s at most once per parameter."""

    token_parameter: str
    temperature: bool
    token_switched: bool = False


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        model: str,
        timeout: float,
        max_tokens: int,
        temperature: float,
        token_parameter: TokenParameter = "auto",
        send_temperature: SendTemperature = "auto",
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.token_parameter = token_parameter
        self.send_temperature = send_temperature
        # max_retries=0: the worker's counted retries are the only ones (docs/architecture.md).
        self.client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
        )
        if base_url and "api.openai.com" not in base_url:
            self.name = "openai-compatible"
        # Deprecated: the last call's headers, raced on by threads; use Generated.headers.
        self.last_headers: Mapping[str, str] = {}
        # Per model, for the life of the process (one provider per process, see get_provider).
        self._params: dict[str, _ModelParams] = {}
        self._params_lock = threading.Lock()

    # -- parameters --------------------------------------------------------------------------
    def _params_for(self, model: str) -> _ModelParams:
        """A copy of what to send to ``model`` now (the first call decides from the name)."""
        with self._params_lock:
            params = self._params.get(model)
            if params is None:
                reasoning = is_reasoning_model(model)
                token = self.token_parameter
                if token == "auto":
                    token = "max_completion_tokens" if reasoning else "max_tokens"
                if self.send_temperature == "auto":
                    send = not reasoning
                else:
                    send = self.send_temperature == "true"
                params = self._params[model] = _ModelParams(token, send)
            return _ModelParams(params.token_parameter, params.temperature, params.token_switched)

    def _adapt(self, model: str, param: str, sent: _ModelParams) -> bool:
        """Learn from a 400 refusing ``param``; True when the call is worth making again."""
        with self._params_lock:
            params = self._params[model]
            if param in _TOKEN_PARAMETERS:
                if self.token_parameter != "auto":
                    return False
                if params.token_parameter != sent.token_parameter:
                    return True  # another call switched it meanwhile
                if params.token_switched:
                    return False  # refused both ways: a real error, not a flip-flop
                other = next(p for p in _TOKEN_PARAMETERS if p != param)
                params.token_parameter, params.token_switched = other, True
                log.warning("model %s refuses %s: sending %s from now on", model, param, other)
                return True
            if param == "temperature":
                if self.send_temperature != "auto":
                    return False
                if params.temperature:
                    params.temperature = False
                    log.warning("model %s refuses temperature: leaving it out from now on", model)
                return True
            return False

    def _kwargs(
        self, model: str, params: _ModelParams, request: ArticleRequest,
        messages: list[dict[str, str]],
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            params.token_parameter: request.max_tokens or self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if params.temperature:
            temperature = request.temperature
            kwargs["temperature"] = self.temperature if temperature is None else temperature
        return kwargs

    def batch_params(self, request: ArticleRequest) -> dict[str, Any]:
        """One call's parameters for a Batch API line (app.llm.batch_lane): the model, token
        parameter and temperature the streamed call would send, without the messages."""
        model = request.model or self.model
        kwargs = self._kwargs(model, self._params_for(model), request, [])
        for key in ("messages", "stream", "stream_options"):
            kwargs.pop(key, None)
        return kwargs

    def _hint(self, param: str | None) -> str:
        if param in _TOKEN_PARAMETERS and self.token_parameter != "auto":
            return f" (LLM_TOKEN_PARAMETER={self.token_parameter}; auto adapts to the model)"
        if param == "temperature" and self.send_temperature != "auto":
            return f" (LLM_SEND_TEMPERATURE={self.send_temperature}; false leaves it out)"
        return ""

    # -- the call ----------------------------------------------------------------------------
    def _open(self, model: str, request: ArticleRequest, messages: list[dict[str, str]]) -> Any:
        """Start the streamed call; a refused parameter is switched and sent again at once
        (at most once per parameter and model per process: not a counted attempt)."""
        for _ in range(len(_TOKEN_PARAMETERS) + 2):
            params = self._params_for(model)
            kwargs = self._kwargs(model, params, request, messages)
            try:
                return self.client.chat.completions.with_raw_response.create(**kwargs)
            except openai.BadRequestError as exc:
                param = unsupported_parameter(exc, kwargs)
                if param is not None and self._adapt(model, param, params):
                    continue
                error = classify(exc)
                if hint := self._hint(param):
                    error = PermanentError(f"{error}{hint}", status=error.status)
                raise error from exc
            except openai.OpenAIError as exc:
                raise classify(exc) from exc
        raise PermanentError(f"model {model} refused every parameter set tried", status=400)

    def generate(self, request: ArticleRequest, checkpoint: Checkpoint) -> Generated:
        model = request.model or self.model
        messages = build_messages(request)
        raw = self._open(model, request, messages)
        headers: Mapping[str, str] = raw.headers
        self.last_headers = headers
        try:
            return self._read(raw, headers, model, request, messages, checkpoint)
        except LLMError as exc:  # the stream's headers go with its error (rate-limit feedback)
            if exc.headers is None:
                exc.headers = headers
            raise

    def _read(self, raw: Any, headers: Mapping[str, str], model: str, request: ArticleRequest,
              messages: list[dict[str, str]], checkpoint: Checkpoint) -> Generated:
        # The SDK made the request; the chunks are read from its bytes (app/llm/stream.py):
        # ~3 ms over the transport for 1,300 chunks, where a pydantic object per chunk cost
        # ~110 ms. A checkpoint that raises (cancel) closes the response, aborting the request.
        try:
            streamed = read_stream(raw.http_response, checkpoint)
        except openai.OpenAIError as exc:
            error = classify(exc)
            if type(error) is TransientError:  # a broken connection or timeout mid-stream
                raise StreamCut(f"the stream broke before the answer ended: {error}") from exc
            raise error from exc
        except MalformedEvent as exc:  # garbled by a proxy, say: nothing to trust, try again
            raise StreamCut(f"the stream sent an event that is not JSON: {exc}") from exc
        content = streamed.content.strip()
        usage = streamed.usage or {}
        prompt_tokens = usage.get("prompt_tokens") or 0
        completion_tokens = usage.get("completion_tokens") or 0
        if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int) and (
                prompt_tokens or completion_tokens):
            estimated = False
        else:  # no usage (llama.cpp ignores stream_options): estimate, and say so
            prompt_tokens, completion_tokens = estimate_messages(messages), estimate_text(content)
            estimated = True
        generated = Generated(
            content=content,
            provider=self.name,
            model=streamed.model or model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=streamed.finish_reason or "",
            tokens_estimated=estimated,
            headers=headers,
        )
        return self._judge(generated, request, streamed.refusal.strip())

    def _judge(self, generated: Generated, request: ArticleRequest, refusal: str) -> Generated:
        """Only a whole answer is an article: every other ending raises its own class."""
        finish, size = generated.finish_reason, len(generated.content)
        if refusal or finish == "content_filter":
            message = ContentFiltered.MESSAGE + (f" (the model said: {refusal[:200]})"
                                                 if refusal else "")
            raise ContentFiltered(message, refusal=refusal or None)
        if not finish:
            raise StreamCut(
                f"the stream ended without a finish_reason after {size} characters "
                "(connection closed or [DONE] too early): not a whole answer"
            )
        if finish == "length":
            limit = request.max_tokens or self.max_tokens
            source = "the request's max_tokens" if request.max_tokens else "LLM_MAX_TOKENS"
            raise Truncated(
                f"the answer hit the token limit ({limit}, {source}) after {size} characters: "
                "raise LLM_MAX_TOKENS or ask for a shorter article",
                partial=generated.content,
                generated=generated,
            )
        if finish in _UNWANTED_REASONS:
            raise PermanentError(f"the answer ended with finish_reason {finish!r}, not text")
        if finish not in STOP_REASONS:
            raise StreamCut(f"the answer ended with finish_reason {finish!r} after {size} "
                            "characters: not a whole answer")
        if not generated.content:
            raise EmptyAnswer(f"the provider returned an empty answer (finish_reason {finish!r})")
        return generated
