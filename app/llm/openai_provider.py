"""OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp) through the official SDK."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import openai

from app.llm.base import (
    ArticleRequest,
    Checkpoint,
    Generated,
    LLMError,
    PermanentError,
    RateLimited,
    TransientError,
)
from app.llm.prompt import build_messages


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


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error", body) if isinstance(body, dict) else {}
    message = inner.get("message") if isinstance(inner, dict) else None
    return f"{exc.status_code}: {message or exc.message}"


def _cause(exc: BaseException) -> str:
    """The transport's own words ("peer closed connection ..."), which the SDK's hide."""
    cause = exc.__cause__
    return f" ({type(cause).__name__}: {cause})" if cause is not None and str(cause) else ""


def classify(exc: Exception) -> LLMError:
    """Map an SDK exception to our retry classes (DESIGN.md §4)."""
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
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        # max_retries=0: the worker's counted retries are the only ones (DESIGN.md §7).
        self.client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
        )
        if base_url and "api.openai.com" not in base_url:
            self.name = "openai-compatible"
        self.last_headers: Mapping[str, str] = {}

    def generate(self, request: ArticleRequest, checkpoint: Checkpoint) -> Generated:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": build_messages(request),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        parts: list[str] = []
        usage = None
        model = self.model
        try:
            raw = self.client.chat.completions.with_raw_response.create(**kwargs)
            self.last_headers = raw.headers
            stream = raw.parse()
            # Leaving this block closes the stream, which aborts the HTTP request (cancel).
            with stream:
                size = 0
                for chunk in stream:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices:
                        if choice.delta and choice.delta.content:
                            parts.append(choice.delta.content)
                            size += len(choice.delta.content)
                    checkpoint(size)
        except openai.OpenAIError as exc:
            raise classify(exc) from exc
        content = "".join(parts).strip()
        if not content:
            raise TransientError("the provider returned an empty article")
        prompt_tokens = usage.prompt_tokens if usage else 0
        completion_tokens = usage.completion_tokens if usage else 0
        return Generated(
            content=content,
            provider=self.name,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
