"""A schedule's mode (issue 12): validated once, and passed to every batch it makes."""

from __future__ import annotations

import pytest

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.batches import repository
from app.batches.errors import BatchError
from app.core.db import session_scope
from app.schedules import service


def test_each_run_makes_a_batch_in_the_schedule_mode(db):
    with session_scope() as session:
        schedule = service.create(session, "Nightly", "@daily", ["A title"], "guide",
                                  mode="batch")
        assert schedule.mode == "batch"
        sid = schedule.id
    with session_scope() as session:
        run = service.run(session, sid, run_id="run-1")
    with session_scope(read_only=True) as session:
        batch = repository.get(session, run["batch_id"])
        assert batch is not None and batch.mode == "batch"
    with session_scope() as session:
        assert service.update(session, sid, service.Changes.of(mode="realtime")).mode == (
            "realtime")
        with pytest.raises(BatchError) as bad:
            service.Changes.of(mode="overnight")
    assert bad.value.field == "mode" and bad.value.status_code == 422


def test_a_schedule_without_a_mode_makes_real_time_batches(db):
    with session_scope() as session:
        sid = service.create(session, "Default", "@daily", ["A title"], "guide").id
    with session_scope() as session:
        run = service.run(session, sid, run_id="run-1")
    with session_scope(read_only=True) as session:
        batch = repository.get(session, run["batch_id"])
        assert batch is not None and batch.mode == "realtime"
