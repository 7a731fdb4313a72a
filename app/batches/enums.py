"""The states of a batch and of its items (docs/architecture.md draws the machine)."""

from __future__ import annotations

from enum import StrEnum


class BatchStatus(StrEnum):
    PENDING = "pending"
    """Stored; no item has started yet."""
    PROCESSING = "processing"
    """At least one item started and not all have ended."""
    PAUSED = "paused"
    """A budget was reached: no new LLM call starts (running items finish) until it resumes at
    `resume_at`, or by POST /resume after the cap was raised; `paused_reason` says which."""
    COMPLETED = "completed"
    """Every item has its article."""
    PARTIALLY_COMPLETED = "partially_completed"
    """Every item ended; some have articles, some failed or were cancelled."""
    FAILED = "failed"
    """Every item ended and none has an article."""
    CANCELLED = "cancelled"
    """An editor cancelled it; the articles written before stay."""


class ItemStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its first attempt."""
    PROCESSING = "processing"
    """Claimed by a worker, which holds its lease."""
    RETRYING = "retrying"
    """An attempt failed with a retryable error; the next one is due at next_attempt_at."""
    COMPLETED = "completed"
    """Its article is stored."""
    FAILED = "failed"
    """Gave up, with a readable reason in `error`."""
    CANCELLED = "cancelled"
    """Its batch was cancelled before or while it ran."""


class Priority(StrEnum):
    HIGH = "high"
    """Overtakes normal batches within about one LLM latency."""
    NORMAL = "normal"
    """The default."""
    LOW = "low"
    """Runs when nothing else waits; its weight grows with age, so it is never starved."""


class BatchMode(StrEnum):
    REALTIME = "realtime"
    """Each item streamed through the chat completions API as soon as a slot is free."""
    BATCH = "batch"
    """Sent through the provider's Batch API: about half the price, within 24 hours."""


BATCH_FINAL = frozenset({BatchStatus.COMPLETED, BatchStatus.PARTIALLY_COMPLETED,
                         BatchStatus.FAILED, BatchStatus.CANCELLED})
ITEM_FINAL = frozenset({ItemStatus.COMPLETED, ItemStatus.FAILED, ItemStatus.CANCELLED})
ITEM_WAITING = frozenset({ItemStatus.PENDING, ItemStatus.RETRYING})
