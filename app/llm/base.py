"""The provider interface and the error classes the retry policy is built on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ArticleRequest:
    title: str
    category: str


@dataclass(frozen=True)
class Generated:
    content: str
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# Called between streamed chunks with the text so far; raising from it (e.g. Cancelled)
# aborts the stream, which closes the HTTP request.
Checkpoint = Callable[[int], None]


class LLMError(Exception):
    """A provider call failed. Subclasses say whether and when to try again."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(LLMError):
    """429 that passes with time: wait for the provider's Retry-After."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class TransientError(LLMError):
    """5xx, timeouts, dropped connections: back off exponentially with jitter."""

    retryable = True


class PermanentError(LLMError):
    """400/401/403/404, quota exhausted: waiting will not help."""


class LLMProvider(Protocol):
    name: str

    def generate(self, request: ArticleRequest, checkpoint: Checkpoint) -> Generated: ...
