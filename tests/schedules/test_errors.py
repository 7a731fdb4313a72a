"""The schedules domain's refusals are types carrying what they are about, with the status,
field and message the API has always answered."""

from __future__ import annotations

import os

import pytest

from app.core.db import session_scope
from app.schedules import repository, service
from app.schedules.errors import (
    ScheduleNameTaken,
    ScheduleNotFound,
    SchedulesUnavailable,
)
from tests.support.stack import use_settings

SCHEDULE = {"cron": "@daily", "titles": ["T"], "category": "guide"}


def test_an_unknown_schedule_is_schedule_not_found(db):
    for call in (service.get_or_404, service.delete):
        with pytest.raises(ScheduleNotFound) as missing, session_scope() as session:
            call(session, "nope")
        assert missing.value.schedule_id == "nope"
        assert missing.value.as_body() == {
            "detail": "id: no schedule 'nope'",
            "errors": [{"field": "id", "message": "no schedule 'nope'"}]}
        assert missing.value.status_code == 404


def test_a_second_schedule_with_a_taken_name_is_schedule_name_taken(db):
    with session_scope() as session:
        service.create(session, "Daily", **SCHEDULE)
    with pytest.raises(ScheduleNameTaken) as taken, session_scope() as session:
        service.create(session, " Daily ", **SCHEDULE)
    assert taken.value.name == "Daily"
    assert (taken.value.status_code, taken.value.field, taken.value.message) == (
        409, "name", "another schedule already has this name")


def test_a_change_beat_could_not_see_is_schedules_unavailable(db):
    """Redis (where beat reads schedules) refuses the connection: nothing is stored."""
    real = os.environ["REDIS_URL"]
    use_settings(redis_url="redis://127.0.0.1:1/0")
    try:
        with pytest.raises(SchedulesUnavailable) as away, session_scope() as session:
            service.create(session, "Daily", **SCHEDULE)
    finally:
        use_settings(redis_url=real)
    assert away.value.status_code == 503 and away.value.field == "broker"
    assert away.value.message.startswith("Redis is unavailable, the schedule was not changed (")
    assert away.value.cause is not None
    with session_scope(read_only=True) as session:
        assert repository.all_schedules(session) == []
