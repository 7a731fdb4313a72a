"""Starting a batch (`launch.launch_batch`) and the plan's call style (`ensure_batch`), on the
real database and Redis, no worker: what a batch looks like once it was launched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import app.celery_app  # noqa: F401 - binds the Celery app the progress mirror writes through
from app.batches import service, state
from app.batches.models import AIGenerationTask
from app.batches.scheduling import launch
from app.core import names
from app.core.db import session_scope
from app.core.redis import get_redis
from tests.support.stack import use_settings


@pytest.fixture
def offline(db: str) -> Iterator[str]:
    use_settings(llm_provider="offline")
    yield db
    use_settings(llm_provider=None, database_url=db)


def _batch(**fields: object) -> str:
    with session_scope() as session:
        return service.create_batch(session, ["One", "Two"], "guide", language="en",
                                    **fields).id  # type: ignore[arg-type]


def _row(batch_id: str) -> AIGenerationTask:
    with session_scope(read_only=True) as session:
        batch = session.get(AIGenerationTask, batch_id)
        assert batch is not None
        session.expunge(batch)
        return batch


def test_a_launched_batch_is_processing_and_waits_in_its_backlog(offline):
    batch_id = _batch()
    snapshot = launch.launch_batch(batch_id)
    assert snapshot is not None and snapshot.status == "processing"
    batch = _row(batch_id)
    assert batch.status == "processing" and batch.started_at is not None
    assert (batch.extra or {}).get("note") is None


def test_launching_twice_changes_nothing_the_second_time(offline):
    batch_id = _batch()
    launch.launch_batch(batch_id)
    first = _row(batch_id).started_at
    assert launch.launch_batch(batch_id) is not None
    assert _row(batch_id).started_at == first


def test_batch_mode_without_a_batch_api_runs_in_real_time_and_says_why(offline):
    batch_id = _batch(mode="batch")
    launch.launch_batch(batch_id)
    batch = _row(batch_id)
    assert batch.mode == "realtime"
    assert (batch.extra or {})["note"] == launch.OFFLINE_NOTE


def test_a_cancelled_batch_is_not_started_again(offline):
    batch_id = _batch()
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        state.cancel_batch(session, batch)
    snapshot = launch.launch_batch(batch_id)
    assert snapshot is not None and snapshot.status == "cancelled"


def test_an_unknown_batch_is_an_error(offline):
    with pytest.raises(LookupError):
        launch.launch_batch("no-such-batch")


def test_a_batch_another_process_is_launching_is_left_to_it(offline):
    batch_id = _batch()
    held = get_redis().lock(names.dispatch_lock(batch_id), timeout=30)  # launch waits 5 s for it
    assert held.acquire(blocking=False)
    try:
        assert launch.launch_batch(batch_id) is None
        assert _row(batch_id).status == "pending"
    finally:
        held.release()


def test_the_plans_call_style_creates_the_batch_once(offline):
    launch.ensure_batch("plan-batch-1", ["Plan title"], None, "celery-id-1")
    launch.ensure_batch("plan-batch-1", ["Another title"], "guide", "celery-id-2")
    batch = _row("plan-batch-1")
    assert (batch.total, batch.category, batch.celery_task_id) == (1, "general", "celery-id-1")
