"""A schedule's priority and owner (issue 10): validated once, and passed to every batch it
makes; a change reaches the next run, and the owner can be removed."""

from __future__ import annotations

import pytest

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.batches import repository
from app.batches.errors import BatchError
from app.core.db import session_scope
from app.schedules import service


def _run(schedule_id: str, run_id: str) -> tuple[str, str | None]:
    with session_scope() as session:
        batch_id = service.run(session, schedule_id, run_id=run_id)["batch_id"]
    with session_scope(read_only=True) as session:
        batch = repository.get(session, batch_id)
        assert batch is not None
        return batch.priority, batch.owner


def test_each_run_makes_a_batch_with_the_schedule_priority_and_owner(db):
    with session_scope() as session:
        schedule = service.create(session, "Morning news", "@daily", ["A title"], "news",
                                  priority=" HIGH ", owner=" 编辑部 ")
        assert (schedule.priority, schedule.owner) == ("high", "编辑部")
        sid = schedule.id
    assert _run(sid, "run-1") == ("high", "编辑部")

    with session_scope() as session:
        changed = service.update(session, sid, service.Changes.of(priority="low", owner="bob"))
        assert (changed.priority, changed.owner) == ("low", "bob")
    assert _run(sid, "run-2") == ("low", "bob")

    with session_scope() as session:  # a change without the owner leaves it
        assert service.update(session, sid, service.Changes.of(name="Renamed")).owner == "bob"
    with session_scope() as session:  # null (or blank) removes it
        assert service.update(session, sid, service.Changes.of(owner=None)).owner is None
    assert _run(sid, "run-3") == ("low", None)


def test_a_schedule_without_them_makes_normal_batches_with_no_owner(db):
    with session_scope() as session:
        sid = service.create(session, "Plain", "@daily", ["A title"], "guide").id
    assert _run(sid, "run-1") == ("normal", None)


@pytest.mark.parametrize(("field", "value"), [("priority", "urgent"), ("owner", "a\tb"),
                                              ("owner", "x" * 101)])
def test_a_bad_priority_or_owner_is_refused_naming_the_field(db, field, value):
    with pytest.raises(BatchError) as refused:
        service.Changes.of(**{field: value})
    assert (refused.value.field, refused.value.status_code) == (field, 422)
