"""A batch of titles and its items: rows that change only through app.batches.state.

Names: a batch is `AIGenerationTask` (table `ai_generation_tasks`) and its id is `task_id` on
items, articles and in the API (`/api/tasks/{task_id}`). Those are the plan's names, kept
because its API, its table and its clients use them; everywhere else the code and the docs say
*batch*. (`celery_task_id` is the Celery id of the batch's own message, not the batch's id.)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.batches.enums import BatchMode, BatchStatus, ItemStatus, Priority
from app.core.models import Base, new_id, utcnow

if TYPE_CHECKING:
    from app.articles.models import Article


# Items in a batch's backlog (the SQL of migration 0006's partial indexes).
WAITING_SQL = "enqueued_at IS NULL AND status IN ('pending', 'retrying')"
RETRY_WAITING_SQL = "enqueued_at IS NULL AND status = 'retrying'"


class AIGenerationTask(Base):
    """One batch of titles submitted together."""

    __tablename__ = "ai_generation_tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(24), default=BatchStatus.PENDING, index=True)
    category: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    # Highest progress ever reported, so readers never see it go backwards.
    progress: Mapped[int] = mapped_column(Integer, default=0)
    celery_task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    celery_status: Mapped[str | None] = mapped_column(String(24))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_progress_update: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Fair scheduling (app.batches.scheduling.fairness): weight by priority, shares by owner first.
    priority: Mapped[str] = mapped_column(String(8), default=Priority.NORMAL)
    owner: Mapped[str | None] = mapped_column(String(100), index=True)
    # BCP 47 tag, or "auto": each item's own language, resolved when the batch is stored.
    language: Mapped[str] = mapped_column(String(35), default="auto")
    mode: Mapped[str] = mapped_column(String(16), default=BatchMode.REALTIME)
    # Costs so far, summed from the items' articles; the cap pauses the batch when reached.
    max_cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cost_unknown: Mapped[int] = mapped_column(Integer, default=0)  # articles with no price
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    resume_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Quality: articles written again after a failed check, and articles left for review.
    regenerated: Mapped[int] = mapped_column(Integer, default=0)
    needs_review: Mapped[int] = mapped_column(Integer, default=0)

    items: Mapped[list[GenerationItem]] = relationship(
        back_populates="batch", order_by="GenerationItem.index", cascade="all, delete-orphan"
    )


class GenerationItem(Base):
    """One title of a batch: claimed by a worker, retried, and ended exactly once."""

    __tablename__ = "generation_items"
    __table_args__ = (
        UniqueConstraint("task_id", "index", name="uq_item_task_index"),
        Index("ix_item_status_lease", "status", "lease_expires_at"),
        Index("ix_item_backlog", "status", "enqueued_at", "task_id"),
        # The feeder's mark walks a batch's backlog in title order; it counts due retries
        # (app.batches.scheduling.backlog). Partial: only the items that wait are in them.
        Index("ix_item_waiting", "task_id", "index", sqlite_where=text(WAITING_SQL),
              postgresql_where=text(WAITING_SQL)),
        Index("ix_item_retry_due", "task_id", "next_attempt_at",
              sqlite_where=text(RETRY_WAITING_SQL), postgresql_where=text(RETRY_WAITING_SQL)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        ForeignKey("ai_generation_tasks.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default=ItemStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(255))
    # Set when its message went to the broker; NULL while it waits in its batch's backlog.
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(String(35))
    # What the next attempt adds to the prompt: an editor's request or a failed check's reason.
    feedback: Mapped[str | None] = mapped_column(Text)
    regenerations: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    provider_batch_id: Mapped[str | None] = mapped_column(String(64))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    batch: Mapped[AIGenerationTask] = relationship(back_populates="items")
    article: Mapped[Article | None] = relationship(back_populates="item", uselist=False)


class DispatchCount(Base):
    """How many of a batch's items wait in its backlog and how many are in flight, by class
    (app.batches.scheduling.backlog), so the feeder reads one row per batch instead of counting
    items. Kept exact by triggers on generation_items (migration 0006), whichever code moves an
    item; never written by the application. Two rows per batch, summed by the reader: writer
    `feeder` takes the moves only the feeder makes (sent), writer `items` every other move."""

    __tablename__ = "dispatch_counts"

    task_id: Mapped[str] = mapped_column(
        ForeignKey("ai_generation_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    writer: Mapped[str] = mapped_column(String(8), primary_key=True)
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    handed_back: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retrying: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SubmitLimit(Base):
    """A user's own submit limits, set by an admin (app.batches.limits); NULL: the setting's
    default (SUBMIT_MAX_BATCHES_PER_HOUR / SUBMIT_MAX_TITLES_PER_HOUR), 0: unlimited."""

    __tablename__ = "submit_limits"

    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    max_batches_per_hour: Mapped[int | None] = mapped_column(Integer)
    max_titles_per_hour: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
