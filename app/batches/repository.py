"""The batches domain's reads (its writes are the transitions in app.batches.state)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, selectinload

from app.articles.models import Article
from app.batches.enums import BATCH_FINAL, ITEM_WAITING, BatchMode, BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.core import names

# The `worker` of an item sent to the Batch API lane: this prefix + the provider batch id.
LANE_WORKER = "batch-api:"


def dispatchable() -> ColumnElement[bool]:
    """Batches whose waiting items may go to workers (and be claimed): not ended, not
    cancelled, not paused by a budget. The SQL twin of app.batches.state.is_dispatchable;
    a dispatcher feeding items must filter its batches with it."""
    return and_(
        AIGenerationTask.cancel_requested.is_(False),
        AIGenerationTask.status.notin_([*BATCH_FINAL, BatchStatus.PAUSED]),
    )


# --- the backlog (app.batches.feeder) ---------------------------------------------------------
# An item waits in its batch's backlog while `enqueued_at` is NULL; it is *in flight* from the
# moment its message is sent (enqueued_at set) until it ends. Items a provider batch holds are
# neither: the Batch API lane runs them.

def _in_flight() -> ColumnElement[bool]:
    return or_(
        and_(GenerationItem.status.in_(ITEM_WAITING), GenerationItem.enqueued_at.is_not(None)),
        and_(GenerationItem.status == ItemStatus.PROCESSING,
             or_(GenerationItem.worker.is_(None),
                 not_(GenerationItem.worker.startswith(LANE_WORKER)))),
    )


def _ready() -> ColumnElement[bool]:
    """Waiting in the backlog and due at :now (a retry's backoff has passed). A batch-mode
    batch's items are the Batch API lane's until the lane hands one back (it then carries its
    provider batch id); a batch that runs in real time instead has its mode set so."""
    now = bindparam("now", type_=GenerationItem.next_attempt_at.type)
    return and_(
        GenerationItem.status.in_(ITEM_WAITING),
        GenerationItem.enqueued_at.is_(None),
        or_(GenerationItem.next_attempt_at.is_(None), GenerationItem.next_attempt_at <= now),
        or_(AIGenerationTask.mode != BatchMode.BATCH,
            GenerationItem.provider_batch_id.is_not(None)),
    )


# Built once: the feeder runs these at every item's end, and building the statement costs more
# than running it (SQLAlchemy caches the compiled SQL, not the Python construct).
@functools.cache
def _backlog_query() -> Any:  # a Select of nine columns
    ready = _ready()
    return (
        select(
            GenerationItem.task_id,
            AIGenerationTask.owner,
            AIGenerationTask.priority,
            AIGenerationTask.created_at,
            AIGenerationTask.status,
            dispatchable().label("dispatchable"),
            func.sum(case((ready, 1), else_=0)).label("waiting"),
            func.sum(case((_in_flight(), 1), else_=0)).label("running"),
            func.min(case((ready, func.coalesce(GenerationItem.next_attempt_at,
                                                GenerationItem.created_at)))).label("oldest"),
        )
        .join(AIGenerationTask, AIGenerationTask.id == GenerationItem.task_id)
        .where(GenerationItem.status.in_([*ITEM_WAITING, ItemStatus.PROCESSING]))
        .group_by(GenerationItem.task_id, AIGenerationTask.owner, AIGenerationTask.priority,
                  AIGenerationTask.created_at, AIGenerationTask.cancel_requested,
                  AIGenerationTask.status)
    )


@functools.cache
def _ready_ids_query() -> Select[Any]:
    return (
        select(GenerationItem.id)
        .join(AIGenerationTask, AIGenerationTask.id == GenerationItem.task_id)
        .where(GenerationItem.task_id == bindparam("batch_id"), _ready())
        .order_by(GenerationItem.index)
        .limit(bindparam("n"))
    )


_MARK_SENT = (
    update(GenerationItem)
    .where(GenerationItem.id.in_(bindparam("ids", expanding=True)),
           GenerationItem.enqueued_at.is_(None), GenerationItem.status.in_(ITEM_WAITING))
    .values(enqueued_at=bindparam("now", type_=GenerationItem.enqueued_at.type))
    .returning(GenerationItem.id)
    .execution_options(synchronize_session=False)
)


def serialize_feeders(session: Session) -> None:
    """Make the feeders take turns for the rest of this transaction. SQLite already does: a
    writer's transaction begins with BEGIN IMMEDIATE (app.core.db). PostgreSQL: a
    transaction-level advisory lock, released by the commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": names.FEEDER_ADVISORY_LOCK})


def backlog(session: Session, now: datetime) -> list[Any]:
    """Per batch with unfinished items: (task_id, owner, priority, created_at, status,
    dispatchable, waiting, running, oldest). `waiting` counts the items ready to send now,
    `running` those in flight. One grouped scan of the unfinished items (ix_item_backlog)."""
    return list(session.execute(_backlog_query(), {"now": now}).all())


def take_from_backlog(session: Session, batch_id: str, n: int, now: datetime) -> list[int]:
    """Mark the batch's next `n` ready items as sent (in title order) and return their ids.
    The `enqueued_at IS NULL` condition makes a second taker get none of the same items."""
    ids = list(session.scalars(_ready_ids_query(),
                               {"batch_id": batch_id, "n": n, "now": now}))
    if not ids:
        return []
    return list(session.scalars(_MARK_SENT, {"ids": ids, "now": now}))


def paused_due(session: Session, now: datetime) -> list[str]:
    """Paused batches whose budget window has rolled over (resume_at passed)."""
    return list(session.scalars(
        select(AIGenerationTask.id).where(AIGenerationTask.status == BatchStatus.PAUSED,
                                          AIGenerationTask.resume_at <= now)
        .order_by(AIGenerationTask.resume_at)
    ))


def open_provider_batches(session: Session, batch_id: str | None = None
                          ) -> list[tuple[str, str]]:
    """(batch id, provider batch id) of every provider batch still holding items."""
    query = (select(GenerationItem.task_id, GenerationItem.provider_batch_id).distinct()
             .where(GenerationItem.status == ItemStatus.PROCESSING,
                    GenerationItem.provider_batch_id.is_not(None),
                    GenerationItem.worker.startswith(LANE_WORKER)))
    if batch_id is not None:
        query = query.where(GenerationItem.task_id == batch_id)
    return [(str(t), str(p)) for t, p in session.execute(query).all()]


def lane_items(session: Session, provider_batch_id: str) -> list[GenerationItem]:
    """The items a provider batch still holds."""
    return list(session.scalars(
        select(GenerationItem).where(
            GenerationItem.provider_batch_id == provider_batch_id,
            GenerationItem.status == ItemStatus.PROCESSING,
            GenerationItem.worker == LANE_WORKER + provider_batch_id,
        ).order_by(GenerationItem.index)
    ))


def unsent_lane_items(session: Session, batch_id: str) -> list[GenerationItem]:
    """A batch-mode batch's items never sent to the provider (pending, no provider batch)."""
    return list(session.scalars(
        select(GenerationItem).join(AIGenerationTask).where(
            GenerationItem.task_id == batch_id, AIGenerationTask.mode == BatchMode.BATCH,
            GenerationItem.status == ItemStatus.PENDING,
            GenerationItem.provider_batch_id.is_(None),
        ).order_by(GenerationItem.index)
    ))


def get(session: Session, batch_id: str, *, with_items: bool = False) -> AIGenerationTask | None:
    query = select(AIGenerationTask).where(AIGenerationTask.id == batch_id)
    if with_items:
        query = query.options(
            # Only the article's id: loading every article's content made /status slow.
            selectinload(AIGenerationTask.items)
            .selectinload(GenerationItem.article)
            .load_only(Article.id, Article.item_id)
        ).execution_options(populate_existing=True)  # items moved by bulk UPDATEs
    return session.scalars(query).one_or_none()


def find_by_key(session: Session, key: str) -> AIGenerationTask | None:
    return session.scalars(
        select(AIGenerationTask).where(AIGenerationTask.idempotency_key == key)
    ).one_or_none()


def item_rows(session: Session, batch_id: str) -> list[dict[str, Any]]:
    """A batch's items as plain dicts with their article's id, in order: what /status shows,
    without building ORM objects (a third of the cost for a 200-item batch)."""
    result = session.execute(
        select(
            GenerationItem.id,
            GenerationItem.index,
            GenerationItem.title,
            GenerationItem.status,
            GenerationItem.attempts,
            GenerationItem.error,
            GenerationItem.language,
            GenerationItem.regenerations,
            GenerationItem.started_at,
            GenerationItem.finished_at,
            GenerationItem.cost_usd,
            GenerationItem.provider_batch_id,
            Article.id.label("article_id"),
        )
        .outerjoin(Article, Article.item_id == GenerationItem.id)
        .where(GenerationItem.task_id == batch_id)
        .order_by(GenerationItem.index)
    )
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def list_batches(
    session: Session, *, limit: int, offset: int, status: str | None = None,
    priority: str | None = None, owner: str | None = None,
) -> tuple[list[AIGenerationTask], int]:
    """A page of batches, newest first, with every filter given (None: any); `owner` is
    matched exactly, as stored (app.batches.validation.clean_owner)."""
    conditions = []
    if status:
        conditions.append(AIGenerationTask.status == status)
    if priority:
        conditions.append(AIGenerationTask.priority == priority)
    if owner is not None:
        conditions.append(AIGenerationTask.owner == owner)
    query = select(AIGenerationTask).where(*conditions)
    count = select(func.count()).select_from(AIGenerationTask).where(*conditions)
    rows = session.scalars(
        query.order_by(AIGenerationTask.created_at.desc(), AIGenerationTask.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(session.scalar(count) or 0)


def counts_by_status(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """(batches by status, items by status): what /metrics reports."""
    batches = dict(session.execute(  # type: ignore[arg-type]
        select(AIGenerationTask.status, func.count()).group_by(AIGenerationTask.status)
    ).all())
    items = dict(session.execute(  # type: ignore[arg-type]
        select(GenerationItem.status, func.count()).group_by(GenerationItem.status)
    ).all())
    return batches, items
