"""Side effects recorded during a unit of work and carried out only after it commits.

Services never commit and never talk to the queue directly: they call `enqueue`, `publish`
or `after_commit` on their session. When the session commits, `deliver` runs the messages in
the order they were recorded; when it rolls back, they are dropped. A savepoint's release is
not a commit, and a savepoint rolled back drops only what was recorded inside it. So a worker
can never look for a row that is not committed yet, and a progress event never announces a
state that was rolled back.

The policy for a message that cannot be sent after the commit (the broker is down): it is
logged and counted, never retried here. The database already holds the work as pending, and
recovery (app.batches.scheduling.recovery) re-enqueues pending work whose message never arrived.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.core import queue
from app.core.redis import get_redis

log = logging.getLogger(__name__)

_KEY = "ta_outbox"
_BEFORE = "ta_outbox_before_commit"
_MARKS = "ta_outbox_savepoints"  # savepoint -> how many messages were recorded before it
# Called with (message, exception) when a message could not be delivered (metrics hook).
on_failure: list[Callable[[object, BaseException], None]] = []


@dataclass(frozen=True)
class Task:
    name: str
    args: list[Any]
    options: dict[str, Any] = field(default_factory=dict)

    def deliver(self) -> None:
        queue.send(self.name, self.args, **self.options)


@dataclass(frozen=True)
class Publish:
    channel: str
    payload: dict[str, Any]

    def deliver(self) -> None:
        get_redis().publish(self.channel, json.dumps(self.payload, default=str))


@dataclass(frozen=True)
class Call:
    fn: Callable[[], None]
    what: str

    def deliver(self) -> None:
        self.fn()


Message = Task | Publish | Call


def _pending(session: Session) -> list[Message]:
    return session.info.setdefault(_KEY, [])


def enqueue(session: Session, name: str, args: list[Any], **options: Any) -> None:
    """Send the task `name(*args)` once this session commits."""
    _pending(session).append(Task(name, list(args), options))


def publish(session: Session, channel: str, payload: dict[str, Any]) -> None:
    """Publish `payload` (JSON) on a Redis channel once this session commits."""
    _pending(session).append(Publish(channel, payload))


def after_commit(session: Session, fn: Callable[[], None], what: str) -> None:
    """Run `fn` once this session commits (Redis flags, RedBeat entries, mirrors)."""
    _pending(session).append(Call(fn, what))


def before_commit(session: Session, fn: Callable[[], None], what: str) -> None:
    """Run `fn` just before this session commits, while it still holds its row locks.

    Only for a mirror whose writes must follow the lock order (the Celery progress mirror:
    two workers ending items of one batch would otherwise write it out of order). If the
    commit then fails, the mirror is one step ahead until the next write."""
    session.info.setdefault(_BEFORE, []).append(Call(fn, what))


def deliver(messages: list[Message]) -> None:
    for message in messages:
        try:
            message.deliver()
        except (redis.RedisError, OSError, Exception) as exc:  # noqa: B014 - say which kinds
            level = logging.ERROR if isinstance(message, Task) else logging.WARNING
            log.log(level, "after commit: could not deliver %s: %s (recovery will redo it)",
                    _describe(message), exc)
            for hook in on_failure:
                hook(message, exc)


def _describe(message: Message) -> str:
    if isinstance(message, Task):
        return f"task {message.name}{message.args}"
    if isinstance(message, Publish):
        return f"event on {message.channel}"
    return message.what


# A SAVEPOINT (`session.begin_nested()`) fires the same commit and rollback events as the real
# transaction: its release is not the commit, and its rollback undoes only what was recorded
# inside it. Without these checks a second `submit` in one session sent the first one's
# messages before the commit, and a savepoint rolled back dropped every message of the session.

@event.listens_for(Session, "after_transaction_create")
def _savepoint_started(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[transaction] = (len(_pending(session)), len(session.info.get(_BEFORE, ())))


@event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous: SessionTransaction) -> None:
    mark = session.info.get(_MARKS, {}).pop(previous, None)
    if previous.nested and mark is not None:
        del _pending(session)[mark[0]:]
        del session.info.setdefault(_BEFORE, [])[mark[1]:]


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    messages = session.info.pop(_BEFORE, None)
    if messages:
        deliver(messages)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_MARKS, None)
    messages = session.info.pop(_KEY, None)
    if messages:
        deliver(messages)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_MARKS, None)
    session.info.pop(_KEY, None)
    session.info.pop(_BEFORE, None)
