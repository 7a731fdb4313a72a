"""The provider interface and the error classes the retry policy is built on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class ArticleRequest:
    title: str
    category: str
    # Per-call overrides (a category profile sets them); None means the configured default.
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    extra_instructions: str | None = None
    # What to write (app/llm/prompt.py states all of it; the title stays delimited data).
    language: str = "en"  # BCP 47, already resolved (see app.llm.language.resolve_language)
    instructions: str | None = None  # the category profile's instructions, from the site
    min_length: int | None = None  # words, or characters when uses_characters(language)
    max_length: int | None = None
    feedback: str | None = None  # an editor's regeneration request or a failed check's reason


@dataclass(frozen=True)
class Generated:
    content: str
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Why the answer ended; only a whole answer ("stop") is ever returned as an article.
    finish_reason: str = "stop"
    # True when the server reported no usage and the counts are app.llm.tokens estimates.
    tokens_estimated: bool = False
    # The rate-limit headers of this very call (not a shared attribute other threads overwrite).
    headers: Mapping[str, str] | None = field(default=None, compare=False, hash=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# Called between streamed chunks with the text so far; raising from it (e.g. Cancelled)
# aborts the stream, which closes the HTTP request.
Checkpoint = Callable[[int], None]


class LLMError(Exception):
    """A provider call failed. Subclasses say whether and when to try again.

    ``label`` is a short stable name for metrics; ``max_attempts`` caps the attempts of an item
    for this class (None: the configured LLM_MAX_RETRIES applies).
    """

    retryable: bool = False
    label: str = "error"
    max_attempts: int | None = None

    def __init__(self, message: str, *, status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        # The headers of the reply that failed, when there was one: the rate limiter reads this
        # call's own headers (app/llm/ratelimit.py), never another thread's.
        self.headers = headers


class RateLimited(LLMError):
    """429 that passes with time: wait for the provider's Retry-After."""

    retryable = True
    label = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class TransientError(LLMError):
    """5xx, timeouts, dropped connections: back off exponentially with jitter."""

    retryable = True
    label = "transient"


class StreamCut(TransientError):
    """The stream ended before the answer did (no finish_reason): nothing usable, try again."""

    label = "stream_cut"


class EmptyAnswer(TransientError):
    """A finished answer with no text: worth one more try, not more."""

    label = "empty"
    max_attempts = 2


class PermanentError(LLMError):
    """400/401/403/404, quota exhausted: waiting will not help."""

    label = "permanent"


class ContentFiltered(PermanentError):
    """The provider's content filter (or the model itself) refused to answer."""

    label = "content_filter"
    MESSAGE: ClassVar[str] = "the provider's content filter refused this title"

    def __init__(self, message: str | None = None, *, refusal: str | None = None) -> None:
        super().__init__(message or self.MESSAGE)
        self.refusal = refusal


class Truncated(PermanentError):
    """The answer hit the token limit (finish_reason "length"): not a whole article.

    ``partial`` is the text received and ``generated`` the same as a Generated (tokens included,
    finish_reason "length"), so a quality step can keep it for review, flagged truncated.
    """

    label = "truncated"

    def __init__(self, message: str, *, partial: str, generated: Generated | None = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.generated = generated


class LLMProvider(Protocol):
    name: str

    def generate(self, request: ArticleRequest, checkpoint: Checkpoint) -> Generated: ...
