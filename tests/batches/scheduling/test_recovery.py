"""Recovery on a real database and the test Redis, no workers (issue 14): items of a worker
whose heartbeat key is gone come back at once; a registry that just lost its keys takes nothing;
a broker that lost its data gets every waiting item back in its backlog, busy queue or not, and
the feeder sends them again."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from sqlalchemy import update

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.batches import service, state
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.scheduling import feeder, recovery
from app.config import get_settings
from app.core import names, workers
from app.core.db import session_scope
from app.core.models import utcnow
from app.core.redis import get_redis
from tests.support import faults


def _age_epochs(seconds: int = 60, broker: bool = True) -> None:
    """The registry's (and the broker's) Redis have held their data for `seconds`."""
    now = int(get_redis().time()[0])
    get_redis().set(names.REGISTRY_EPOCH_KEY, now - seconds)
    if broker:
        faults.broker().set(names.EPOCH_KEY, now - seconds)


def _claimed(claims: dict[str, float]) -> dict[str, int]:
    """One batch, an item per claim token, each claimed and last renewed that many s ago."""
    lease = get_settings().item_lease_seconds
    with session_scope() as session:
        batch = service.create_batch(session, list(claims), "guide")
        ids = {item.title: item.id for item in batch.items}
    for claim, renewed_ago in claims.items():
        with session_scope() as session:
            assert state.claim_item(session, ids[claim], claim, lease) is not None
            session.execute(update(GenerationItem).where(GenerationItem.id == ids[claim]).values(
                lease_expires_at=utcnow() + timedelta(seconds=lease - renewed_ago)))
    return ids


def _item(item_id: int) -> GenerationItem:
    with session_scope() as session:
        item = session.get(GenerationItem, item_id)
        assert item is not None
        return item


def _queued() -> list[tuple[str, list, str | None]]:
    """(task name, args, eta) of every message waiting in the item queue."""
    messages = []
    for raw in faults.broker().lrange(names.ITEM_QUEUE, 0, -1):
        try:
            envelope = json.loads(raw)
        except ValueError:
            continue
        args = json.loads(base64.b64decode(envelope["body"]))[0]
        messages.append((envelope["headers"]["task"], args, envelope["headers"].get("eta")))
    return messages


def test_the_items_of_a_worker_whose_heartbeat_is_gone_are_taken_back_at_once(db):
    _age_epochs()
    ids = _claimed({"ghost@box/aaaa": 10, "alive@box/bbbb": 10, "ghost@box/cccc": 1,
                    "plain-runner": 10})
    # Its heartbeat written just before the reap: a slow machine may take longer than the key's
    # TTL to set the claims up, and the live worker would look dead.
    workers.beat(get_redis(), workers.started_now("alive@box", 2, "prefork", 1))
    feeder.forget_capacity()
    report = recovery.reap()

    ghost = _item(ids["ghost@box/aaaa"])
    assert report.dead_workers == ["ghost@box"] and report.requeued == [ghost.id]
    assert report.expired_leases == []  # its lease had 20 s to go: the heartbeat decided
    assert ghost.status == "retrying"
    assert ghost.error == "worker lost (ghost@box stopped its heartbeat); retrying"
    assert _queued() == [(names.ITEM_TASK, [ghost.id], None)]
    # A live worker's item, a claim renewed within HEARTBEAT_TTL (its worker may be starting)
    # and a claim that names no worker (not a task's) are left to their leases.
    for claim in ("alive@box/bbbb", "ghost@box/cccc", "plain-runner"):
        assert _item(ids[claim]).status == "processing", claim
    with session_scope() as session:  # the item is claimable again; the attempt was counted
        again = state.claim_item(session, ghost.id, "alive@box/dddd", 30)
        assert again is not None and again.attempts == 2


def test_a_registry_that_just_lost_its_keys_takes_nothing_back(db):
    # No registry epoch: its Redis is new or came back empty, so no key has been written again.
    faults.broker().set(names.EPOCH_KEY, 0)
    ids = _claimed({"ghost@box/aaaa": 10})
    assert recovery.reap().requeued == []
    assert _item(ids["ghost@box/aaaa"]).status == "processing"
    assert get_redis().exists(names.REGISTRY_EPOCH_KEY)  # the epoch starts now
    _age_epochs()
    assert recovery.reap().requeued == [ids["ghost@box/aaaa"]]


def test_a_broker_that_lost_its_data_gets_every_waiting_message_again_while_busy(db):
    _age_epochs(broker=False)  # the broker's epoch is gone: Redis restarted empty
    workers.beat(get_redis(), workers.started_now("alive@box", 4, "threads", 1))
    feeder.forget_capacity()
    now = utcnow()
    with session_scope() as session:
        batch = service.create_batch(session, ["Queued", "Backing off", "Not dispatched"],
                                     "guide")
        queued, backing_off, undispatched = (item.id for item in batch.items)
        cancelled = service.create_batch(session, ["Cancelled"], "guide")
    with session_scope() as session:
        session.execute(update(GenerationItem).where(GenerationItem.id != undispatched)
                        .values(enqueued_at=now - timedelta(seconds=1)))
        session.execute(update(GenerationItem).where(GenerationItem.id == backing_off).values(
            status="retrying", next_attempt_at=now + timedelta(seconds=30)))
        session.execute(update(AIGenerationTask).where(AIGenerationTask.id == batch.id)
                        .values(status="processing"))  # dispatched: its message was taken
        service.cancel(session, cancelled.id)
    faults.broker().lpush(names.ITEM_QUEUE, b"a message queued after the restart")

    report = recovery.reap()
    assert report.redis_lost and sorted(report.requeued) == sorted([queued, backing_off])
    assert report.redispatched_batches == []  # none is pending: each batch message was taken
    # Both are back in the backlog; the feeder sent what is due (the one never dispatched
    # too), and the retry keeps its backoff: it waits in the backlog until it is due.
    sent = [args[0] for task, args, _ in _queued() if task == names.ITEM_TASK]
    assert sorted(sent) == sorted([queued, undispatched])
    waiting = _item(backing_off)
    assert waiting.enqueued_at is None and waiting.next_attempt_at is not None
    assert faults.queue_length() == 3
    # Only once: the epoch is back, and a busy queue is no reason to send them again.
    assert recovery.reap().requeued == []
    assert faults.queue_length() == 3
