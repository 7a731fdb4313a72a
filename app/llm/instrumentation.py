"""LLM calls counted where they happen: latency, tokens and retries (Prometheus)."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Histogram

from app.core import prometheus  # noqa: F401  (multiprocess values before any metric)
from app.llm import get_provider
from app.llm.base import (
    ContentFiltered,
    EmptyAnswer,
    LLMError,
    LLMProvider,
    PermanentError,
    RateLimited,
    StreamCut,
    TransientError,
    Truncated,
)

LLM_LATENCY = Histogram(
    "trustagency_llm_request_duration_seconds",
    "Time of one LLM request (the whole stream), by provider, model and outcome.",
    ["provider", "model", "outcome"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300),
)
LLM_TOKENS = Counter(
    "trustagency_llm_tokens",
    "Tokens reported by the LLM provider, by provider, model and kind (prompt, completion).",
    ["provider", "model", "kind"],
)
LLM_COST = Counter(
    "trustagency_llm_cost_usd",
    "USD spent on LLM calls at the price table's rates, by provider, model and lane "
    "(realtime, batch). Calls to a model with no known price are not counted.",
    ["provider", "model", "lane"],
)
LLM_RETRIES = Counter(
    "trustagency_llm_retries",
    "Item attempts that failed and were scheduled again, by error class.",
    ["error_class"],
)

# Outcome and error-class labels stay a small fixed set: the LLM error classes' own labels,
# the runner's stops by name, and "error" for anything else.
LLM_ERROR_LABELS = frozenset(cls.label for cls in (
    LLMError, RateLimited, TransientError, StreamCut, EmptyAnswer, PermanentError,
    ContentFiltered, Truncated,
))
_STOPS = {"Cancelled": "cancelled", "LeaseLost": "lease_lost",
          "DeadlineExceeded": "deadline", "SoftTimeLimitExceeded": "time_limit"}


def label_of(exc: BaseException) -> str:
    """The metric label of a failed call: `exc.label` for LLM errors (bounded), else by name."""
    if isinstance(exc, LLMError):
        return exc.label if exc.label in LLM_ERROR_LABELS else "error"
    return _STOPS.get(type(exc).__name__, "error")


class _Instrumented:
    """A provider whose `generate` is timed and whose token usage is counted."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def generate(self, request: Any, checkpoint: Any) -> Any:
        provider = self._provider
        name = str(getattr(provider, "name", "unknown"))
        model = str(getattr(provider, "model", None) or name)
        started = time.perf_counter()
        outcome = "error"
        try:
            generated = provider.generate(request, checkpoint)
            outcome = "ok"
        except BaseException as exc:
            outcome = label_of(exc)
            raise
        finally:
            LLM_LATENCY.labels(name, model, outcome).observe(time.perf_counter() - started)
        LLM_TOKENS.labels(name, model, "prompt").inc(generated.prompt_tokens)
        LLM_TOKENS.labels(name, model, "completion").inc(generated.completion_tokens)
        return generated


def instrumented(provider: Any) -> Any:
    return _Instrumented(provider)


def count_cost(provider: str, model: str, lane: str, usd: float | None) -> None:
    """Add one call's cost (None: the model has no price, nothing to add)."""
    if usd is not None:
        LLM_COST.labels(provider, model, lane).inc(usd)


def count_tokens(provider: str, model: str, prompt: int, completion: int) -> None:
    """Tokens of a call made outside `instrumented` (the Batch API lane)."""
    LLM_TOKENS.labels(provider, model, "prompt").inc(prompt)
    LLM_TOKENS.labels(provider, model, "completion").inc(completion)


def count_retry(exc: BaseException) -> None:
    LLM_RETRIES.labels(label_of(exc)).inc()


@lru_cache
def instrumented_provider() -> LLMProvider:
    """The process's provider, wrapped once (not once per item)."""
    return instrumented(get_provider())  # type: ignore[no-any-return]
