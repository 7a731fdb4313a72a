"""Live progress of one batch as Server-Sent Events.

Workers publish every change on the Redis channel `ta:events:{batch_id}` (progress.announce,
after each commit).
A stream subscribes first, then reads a snapshot from the database, so nothing published in
between is lost; it forwards each event as it arrives and ends once the database shows the
batch in a final state. Redis is best effort: when pub/sub is unavailable, or an event was
lost, the database is polled instead, so a stream always ends with the true final state.

Each message is `data: {json}` with a `type`:
- `snapshot`: the `/progress` fields (`eta_seconds` included) plus `started_at`, `finished_at`
  and `items` (each `id, index, title, status, attempts, error, article_id`), on connect, when
  polling sees a change, and as the last message;
- `progress`: the `/progress` fields, with `item` ({id, index, status, attempts, error}) when
  one item changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from fastapi.concurrency import run_in_threadpool
from redis.exceptions import RedisError

from app.batches import repository
from app.batches.api.schemas import batch_out
from app.batches.enums import BATCH_FINAL, BatchStatus
from app.batches.progress import Snapshot, eta_seconds
from app.config import get_settings
from app.core import names
from app.core.db import session_scope
from app.core.models import utcnow

log = logging.getLogger(__name__)

PROGRESS_FIELDS = ("status", "current", "total", "progress", "completed", "failed", "cancelled",
                   "regenerated", "needs_review")
# With pub/sub working, the database is still read now and then to catch a lost message.
RECONCILE_SECONDS = 5.0
# Events go out after their commit, but a replica or another session may lag: wait this long
# for the database to agree before sending the last snapshot.
CONFIRM_FINAL_SECONDS = 3.0


def read_snapshot(batch_id: str) -> dict[str, Any] | None:
    """The batch as the database has it now, in the `snapshot` shape (None when unknown)."""
    with session_scope(read_only=True) as session:
        batch = repository.get(session, batch_id)
        if batch is None:
            return None
        out = batch_out(batch, items=repository.item_rows(session, batch_id)).model_dump(
            mode="json")
        snapshot = Snapshot.of(batch).as_dict()
    snapshot.pop("celery_task_id", None)
    return {
        "type": "snapshot",
        **snapshot,
        "eta_seconds": None,  # filled in by the stream
        "started_at": out["started_at"],
        "finished_at": out["finished_at"],
        "items": [
            {k: item[k] for k in ("id", "index", "title", "status", "attempts", "error",
                                  "article_id")}
            for item in out["items"] or []
        ],
    }


# What str.splitlines() (and so some SSE clients) would take for a line end, kept escaped.
_LINE_ENDS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def sse(data: dict[str, Any]) -> str:
    """One `data:` line; Chinese and other text as it is (not \\uXXXX), line ends escaped."""
    text = json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
    return f"data: {text.translate(_LINE_ENDS)}\n\n"


class BatchStream:
    """One client's stream: its own Redis connection, closed when the client goes away."""

    def __init__(self, batch_id: str) -> None:
        self.batch_id = batch_id
        self.settings = get_settings()
        self.client: aioredis.Redis | None = None
        self.pubsub: aioredis.client.PubSub | None = None
        self.first: dict[str, Any] | None = None
        self.sent: dict[str, Any] = {}  # the last progress fields sent: they only go forward
        self.items: dict[int, tuple[Any, Any]] = {}
        self.next_subscribe = 0.0
        self.started_at: datetime | None = None

    async def open(self) -> bool:
        """Subscribe, then read the snapshot. False (and closed) when the batch is unknown."""
        await self._subscribe()
        self.first = await run_in_threadpool(read_snapshot, self.batch_id)
        if self.first is None:
            await self.close()
            return False
        return True

    async def _subscribe(self) -> None:
        self.next_subscribe = time.monotonic() + RECONCILE_SECONDS
        try:
            self.client = aioredis.Redis.from_url(
                self.settings.redis_url,
                socket_connect_timeout=2,
                socket_keepalive=True,
                health_check_interval=10,
            )
            self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            await self.pubsub.subscribe(names.events_channel(self.batch_id))
        except (RedisError, OSError) as exc:
            log.warning("events of batch %s: no pub/sub (%s); polling the database",
                        self.batch_id, exc)
            await self._drop_redis()

    async def _drop_redis(self) -> None:
        pubsub, client, self.pubsub, self.client = self.pubsub, self.client, None, None
        with contextlib.suppress(RedisError, OSError):
            if pubsub is not None:
                await pubsub.aclose()  # type: ignore[attr-defined]  # (types-redis lags)
        with contextlib.suppress(RedisError, OSError):
            if client is not None:
                await client.aclose()  # type: ignore[attr-defined]

    async def close(self) -> None:
        await self._drop_redis()

    def _forward(self, event: dict[str, Any]) -> dict[str, Any]:
        """Keep progress monotonic for this stream, add the ETA, remember item states."""
        if self.sent and event.get("current", 0) < self.sent.get("current", 0):
            event = {**event, **self.sent}  # an older message overtaken by a snapshot
        self.sent = {k: event[k] for k in PROGRESS_FIELDS if k in event}
        if event.get("started_at"):
            self.started_at = datetime.fromisoformat(event["started_at"])
        elif self.started_at is None and event.get("status") != BatchStatus.PENDING:
            self.started_at = utcnow()  # it started just now: dispatch announces the start
        if "current" in event:
            event["eta_seconds"] = eta_seconds(
                self.started_at, utcnow(), event["current"], event.get("total", 0),
                event.get("status") in BATCH_FINAL,
                paused=event.get("status") == BatchStatus.PAUSED,
            )
        item = event.get("item")
        if isinstance(item, dict) and "id" in item:
            self.items[item["id"]] = (item.get("status"), item.get("attempts"))
        for row in event.get("items") or []:
            self.items[row["id"]] = (row["status"], row["attempts"])
        event.pop("celery_task_id", None)
        return event

    def _changed(self, snapshot: dict[str, Any]) -> bool:
        if any(snapshot.get(k) != self.sent.get(k) for k in PROGRESS_FIELDS):
            return True
        return any(self.items.get(i["id"]) != (i["status"], i["attempts"])
                   for i in snapshot["items"])

    async def _next_message(self, timeout: float) -> dict[str, Any] | None:
        if self.pubsub is None:
            await asyncio.sleep(timeout)
            return None
        try:
            message = await self.pubsub.get_message(
                ignore_subscribe_messages=True, timeout=timeout
            )
        except (RedisError, OSError) as exc:
            log.warning("events of batch %s: pub/sub lost (%s); polling the database",
                        self.batch_id, exc)
            await self._drop_redis()
            return None
        if not message or message.get("type") != "message":
            return None
        try:
            data = json.loads(message["data"])
        except (TypeError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    async def _final_snapshot(self) -> dict[str, Any] | None:
        """Wait (briefly) until the committed state is final; None if it is not."""
        deadline = time.monotonic() + CONFIRM_FINAL_SECONDS
        while True:
            snapshot = await run_in_threadpool(read_snapshot, self.batch_id)
            if snapshot is None or snapshot["status"] in BATCH_FINAL:
                return snapshot
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05)

    async def events(self) -> AsyncIterator[str]:
        """The messages of the stream, as text; ends after the final snapshot."""
        assert self.first is not None
        heartbeat = self.settings.events_heartbeat_seconds
        try:
            yield "retry: 1000\n\n"
            yield sse(self._forward(self.first))
            if self.first["status"] in BATCH_FINAL:
                return
            now = time.monotonic()
            next_heartbeat = now + heartbeat
            next_poll = now + self._poll_interval()
            while True:
                wait = max(0.0, min(next_heartbeat, next_poll) - time.monotonic())
                event = await self._next_message(wait)
                if event is not None:
                    yield sse(self._forward(event))
                    if event.get("status") in BATCH_FINAL:
                        final = await self._final_snapshot()
                        if final is not None:
                            yield sse(self._forward(final))
                            return
                now = time.monotonic()
                if now >= next_heartbeat:
                    yield ": ping\n\n"
                    next_heartbeat = now + heartbeat
                if now >= next_poll:
                    if self.pubsub is None and now >= self.next_subscribe:
                        await self._subscribe()  # Redis may be back
                    snapshot = await run_in_threadpool(read_snapshot, self.batch_id)
                    if snapshot is None:  # deleted meanwhile
                        return
                    if self._changed(snapshot) or snapshot["status"] in BATCH_FINAL:
                        yield sse(self._forward(snapshot))
                    if snapshot["status"] in BATCH_FINAL:
                        return
                    next_poll = time.monotonic() + self._poll_interval()
        finally:
            await self.close()

    def _poll_interval(self) -> float:
        if self.pubsub is None:
            return self.settings.events_poll_seconds
        return max(RECONCILE_SECONDS, self.settings.events_poll_seconds)
