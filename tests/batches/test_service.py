"""The batch service and the outbox on a real database and the test Redis, no workers."""

from __future__ import annotations

import pytest

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.batches import repository, service
from app.batches.errors import BatchError
from app.core import names
from app.core.db import session_scope
from app.core.redis import get_redis
from tests.support import faults


def test_submit_validates_once_naming_the_field(db):
    with session_scope() as session:
        with pytest.raises(BatchError) as blank:
            service.submit(session, ["fine", "   "], "guide")
        with pytest.raises(BatchError) as category:
            service.submit(session, ["fine"], "../etc")
    assert (blank.value.field, blank.value.status_code) == ("titles[1]", 422)
    assert category.value.field == "category"
    assert faults.batch_count() == 0 and faults.queue_length() == 0


def test_the_batch_message_goes_out_only_after_the_commit(db):
    with session_scope() as session:
        batch, created = service.submit(session, ["One title"], "guide")
        assert created and faults.queue_length() == 0  # recorded, not sent
        batch_id = batch.id
    assert faults.queue_length() == 1
    message = faults.broker().lindex(names.ITEM_QUEUE, 0)
    assert message is not None and names.BATCH_TASK.encode() in message
    assert batch_id.encode() in message


def test_a_rolled_back_unit_of_work_sends_nothing(db):
    with pytest.raises(RuntimeError), session_scope() as session:
        service.submit(session, ["One title"], "guide")
        raise RuntimeError("the request failed after the service ran")
    assert faults.batch_count() == 0 and faults.queue_length() == 0


def test_an_idempotency_key_returns_the_first_batch_or_409(db):
    with session_scope() as session:
        first, created = service.submit(session, ["A", "B"], "guide", idempotency_key="k1")
        assert created
    with session_scope() as session:
        again, created = service.submit(session, ["A", "B"], "guide", idempotency_key="k1")
        assert not created and again.id == first.id
        with pytest.raises(BatchError) as other:
            service.submit(session, ["C"], "guide", idempotency_key="k1")
    assert other.value.status_code == 409 and other.value.field == "idempotency-key"
    assert faults.batch_count() == 1 and faults.queue_length() == 1


def test_cancel_twice_is_harmless_but_after_the_end_is_409(db):
    with session_scope() as session:
        batch, _ = service.submit(session, ["A"], "guide")
    with session_scope() as session:
        service.cancel(session, batch.id)
    with session_scope() as session:
        with pytest.raises(BatchError) as ended:
            service.cancel(session, batch.id)
        with pytest.raises(BatchError) as unknown:
            service.cancel(session, "nope")
    assert ended.value.status_code == 409 and "cancelled" in ended.value.message
    assert unknown.value.status_code == 404
    with session_scope(read_only=True) as session:
        row = repository.get(session, batch.id)
        assert row is not None and (row.status, row.cancelled) == ("cancelled", 1)
    assert get_redis().exists(names.cancel_key(batch.id))


def test_retry_failed_refuses_a_running_batch(db):
    with session_scope() as session:
        batch, _ = service.submit(session, ["A"], "guide")
    with session_scope() as session, pytest.raises(BatchError) as running:
        service.retry_failed(session, batch.id)
    assert running.value.status_code == 409 and "still pending" in running.value.message
