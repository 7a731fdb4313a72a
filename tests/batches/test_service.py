"""The batch service and the outbox on a real database and the test Redis, no workers."""

from __future__ import annotations

import os

import pytest

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.batches import repository, service
from app.batches.errors import BatchError
from app.batches.validation import legacy_fingerprint
from app.core import names, outbox
from app.core.db import session_scope
from app.core.redis import get_redis
from tests.support import faults
from tests.support.stack import use_settings


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


def test_two_submits_in_one_unit_of_work_send_nothing_before_the_commit(db):
    # Each submit inserts inside a savepoint; releasing the second one is not the commit.
    with session_scope() as session:
        service.submit(session, ["First"], "guide")
        service.submit(session, ["Second"], "guide")
        assert faults.queue_length() == 0
    assert faults.queue_length() == 2 and faults.batch_count() == 2


def test_a_savepoint_rolled_back_drops_only_its_own_messages(db):
    sent: list[str] = []
    with session_scope() as session:
        outbox.after_commit(session, lambda: sent.append("before"), "kept")
        with pytest.raises(RuntimeError), session.begin_nested():
            outbox.after_commit(session, lambda: sent.append("inside"), "dropped")
            raise RuntimeError("the savepoint fails")
        outbox.after_commit(session, lambda: sent.append("after"), "kept too")
        assert sent == []
    assert sent == ["before", "after"]


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


# --- priority and owner (issue 10) -----------------------------------------------------------


def test_a_batch_stores_its_priority_and_owner(db):
    with session_scope() as session:
        plain, _ = service.submit(session, ["A"], "guide")
        mine, _ = service.submit(session, ["B"], "guide", priority=" High ", owner="  编辑部 ")
        blank, _ = service.submit(session, ["C"], "guide", priority="low", owner="   ")
        ids = plain.id, mine.id, blank.id
    with session_scope(read_only=True) as session:
        rows = [repository.get(session, i) for i in ids]
        assert [(r.priority, r.owner) for r in rows if r is not None] == [
            ("normal", None), ("high", "编辑部"), ("low", None)]


@pytest.mark.parametrize(("field", "value"), [("priority", "urgent"), ("owner", "a\nb"),
                                              ("owner", "x" * 101)])
def test_a_bad_priority_or_owner_stores_and_sends_nothing(db, field, value):
    with session_scope() as session, pytest.raises(BatchError) as refused:
        service.submit(session, ["A"], "guide", **{field: value})
    assert (refused.value.field, refused.value.status_code) == (field, 422)
    assert faults.batch_count() == 0 and faults.queue_length() == 0


FIRST = {"titles": ["A", "B"], "category": "guide", "language": "en", "mode": "realtime",
         "max_cost_usd": 5, "priority": "high", "owner": "alice"}


@pytest.mark.parametrize(("field", "value"), [
    ("titles", ["A", "C"]), ("category", "news"), ("language", "zh-CN"), ("mode", "batch"),
    ("max_cost_usd", 6), ("max_cost_usd", None), ("priority", "low"), ("owner", "bob"),
    ("owner", None), ("language", None),
])
def test_one_key_with_any_other_field_is_409(db, field, value):
    with session_scope() as session:
        first, created = service.submit(session, idempotency_key="k", **FIRST)
        assert created
    with session_scope() as session:
        # The same request, its fields written differently but cleaned alike: the same batch.
        again, created = service.submit(
            session, idempotency_key="k", **{**FIRST, "category": " Guide ", "language": "EN",
                                             "priority": "HIGH", "owner": " alice ",
                                             "max_cost_usd": 5.0})
        assert not created and again.id == first.id
        with pytest.raises(BatchError) as other:
            service.submit(session, idempotency_key="k", **{**FIRST, field: value})
    assert (other.value.field, other.value.status_code) == ("idempotency-key", 409)
    assert faults.batch_count() == 1 and faults.queue_length() == 1


def test_a_key_without_a_language_still_matches_after_the_default_changed(db):
    with session_scope() as session:
        first, _ = service.submit(session, ["A"], "guide", idempotency_key="k")
    before = os.environ.get("ARTICLE_LANGUAGE")
    use_settings(article_language="zh-CN")
    try:
        with session_scope() as session:
            again, created = service.submit(session, ["A"], "guide", idempotency_key="k")
            assert not created and again.id == first.id
            with pytest.raises(BatchError):  # asking for the language is another request
                service.submit(session, ["A"], "guide", idempotency_key="k", language="zh-CN")
    finally:
        use_settings(article_language=before)


def test_a_batch_stored_before_the_fuller_fingerprint_compares_titles_and_category(db):
    with session_scope() as session:
        old, _ = service.submit(session, ["A"], "guide", idempotency_key="old")
        old.extra = {"fingerprint": legacy_fingerprint(["A"], "guide")}
    with session_scope() as session:
        again, created = service.submit(session, ["A"], "guide", idempotency_key="old",
                                        priority="high")
        assert not created and again.id == old.id
        with pytest.raises(BatchError) as other:
            service.submit(session, ["B"], "guide", idempotency_key="old")
    assert other.value.status_code == 409


def test_the_list_filters_by_priority_and_owner(db):
    with session_scope() as session:
        for n, (priority, owner) in enumerate([("high", "alice"), ("normal", "alice"),
                                               ("high", "编辑部"), ("low", None)]):
            service.submit(session, [f"T{n}"], "guide", priority=priority, owner=owner)

    def listed(**filters):
        with session_scope(read_only=True) as session:
            rows, total = service.list_batches(session, limit=2, offset=0, **filters)
            assert len(rows) == min(total, 2)
            return total, sorted((r.priority, r.owner or "") for r in rows)

    assert listed()[0] == 4
    assert listed(priority="high") == (2, [("high", "alice"), ("high", "编辑部")])
    assert listed(owner=" alice ") == (2, [("high", "alice"), ("normal", "alice")])
    assert listed(owner="编辑部", priority="HIGH") == (1, [("high", "编辑部")])
    assert listed(owner="", priority="") == listed()  # blank: not a filter
    assert listed(owner="bob") == (0, [])
    with pytest.raises(BatchError) as bad:
        listed(priority="urgent")
    assert bad.value.field == "priority"


def test_patch_sets_the_priority_and_null_puts_it_back_to_normal(db):
    with session_scope() as session:
        batch, _ = service.submit(session, ["A"], "guide", priority="low", owner="alice")
    with session_scope() as session:
        assert service.update(session, batch.id, {"priority": "HIGH"}).priority == "high"
    with session_scope() as session:
        changed = service.update(session, batch.id, {"priority": None})
        assert (changed.priority, changed.owner) == ("normal", "alice")


def test_a_bad_patch_value_names_its_field_even_on_an_ended_batch(db):
    """{"max_cost_usd": -5} on a completed batch answered 409 naming task_id (as if the value
    were fine) instead of the 422 naming max_cost_usd that a running batch gets."""
    with session_scope() as session:
        batch, _ = service.submit(session, ["A"], "guide")
    with session_scope() as session:
        stored = repository.get(session, batch.id)
        assert stored is not None
        stored.status = "completed"
    for changes, field, status in (({"max_cost_usd": -5}, "max_cost_usd", 422),
                                   ({"priority": "urgent"}, "priority", 422),
                                   ({"max_cost_usd": 5}, "task_id", 409)):
        with pytest.raises(BatchError) as err, session_scope() as session:
            service.update(session, batch.id, changes)
        assert (err.value.field, err.value.status_code) == (field, status)
    with session_scope() as session:
        stored = repository.get(session, batch.id)
        assert stored is not None and stored.max_cost_usd is None
