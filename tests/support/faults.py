"""Looking at the real database and Redis from fault-injection tests (tests/test_reliability_*)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import redis
from sqlalchemy import func, select

from app.articles.models import Article
from app.batches.models import AIGenerationTask, GenerationItem
from app.config import get_settings
from app.core.db import session_scope


def broker() -> redis.Redis:
    return redis.Redis.from_url(get_settings().celery_broker_url)


def forget_broker_connections() -> None:
    """After a Redis restart: drop this process's pooled broker sockets (they died with it).

    Publishing retries by itself; `control.ping` (used to wait for workers) does not.
    """
    from kombu import pools

    from app.celery_app import app

    pools.reset()  # closes every pooled connection and forgets the pools
    app._pool = None
    app.amqp._producer_pool = None


def queue_length(queue: str = "celery") -> int:
    """Messages waiting on the broker (not yet taken by a worker)."""
    return int(broker().llen(queue))  # type: ignore[arg-type]


def broker_idle(queue: str = "celery") -> bool:
    """Every message was taken and handled: none waits on `queue` and none is held unacked by a
    worker (tasks ack late, so a message leaves kombu's `unacked` hash when its task returned)."""
    client = broker()
    return int(client.llen(queue)) == 0 and int(client.hlen("unacked")) == 0  # type: ignore[arg-type]


def batch_count() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(AIGenerationTask)) or 0)


def articles_per_title(batch_id: str) -> Counter[str]:
    with session_scope() as session:
        titles = session.scalars(select(Article.title).where(Article.task_id == batch_id)).all()
    return Counter(titles)


def items(batch_id: str) -> list[GenerationItem]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(GenerationItem)
                .where(GenerationItem.task_id == batch_id)
                .order_by(GenerationItem.index)
            )
        )


def item_statuses(batch_id: str) -> dict[str, str]:
    return {item.title: item.status for item in items(batch_id)}


def redis_values(url: str) -> list[bytes]:
    """Every value stored in one Redis database, whatever its type (for leak checks)."""
    client = redis.Redis.from_url(url)
    values: list[bytes] = []
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        values.append(key)
        if kind == b"string":
            values.append(client.get(key) or b"")
        elif kind == b"list":
            values.extend(client.lrange(key, 0, -1))  # type: ignore[arg-type]
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():  # type: ignore[union-attr]
                values.extend((field, value))
        elif kind == b"set":
            values.extend(client.smembers(key))  # type: ignore[arg-type]
        elif kind == b"zset":
            values.extend(client.zrange(key, 0, -1))  # type: ignore[arg-type]
    return values


def all_rows() -> list[tuple[str, Any]]:
    """(table, row) for every row of every table, for leak checks."""
    from sqlalchemy import MetaData

    from app.core.db import get_engine

    engine = get_engine()
    meta = MetaData()
    meta.reflect(engine)
    rows: list[tuple[str, Any]] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            rows.extend((table.name, tuple(r)) for r in conn.execute(table.select()))
    return rows
