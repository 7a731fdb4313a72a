"""Per-user submit limits: counted from the batches table by owner over the last hour, a 429
with Retry-After and a message naming the limit, per-user overrides set by an admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.batches.models import AIGenerationTask
from app.core.db import session_scope
from app.core.models import utcnow
from tests.support.stack import use_settings


@pytest.fixture
def limited(api: Any) -> Any:
    use_settings(submit_max_batches_per_hour="2", submit_max_titles_per_hour="5")
    yield api
    use_settings(submit_max_batches_per_hour="0", submit_max_titles_per_hour="0")


def _submit(api: Any, owner: str | None, n: int = 1) -> Any:
    return api.post("/api/tasks/generate-articles", json={
        "titles": [f"限额标题 {i}" for i in range(n)], "category": "guide", "owner": owner})


def _age(owner: str, minutes: int) -> None:
    """Move the owner's batches back in time."""
    with session_scope() as session:
        session.execute(update(AIGenerationTask).where(AIGenerationTask.owner == owner)
                        .values(created_at=utcnow() - timedelta(minutes=minutes)))


def test_batches_per_hour_then_retry_after(limited: Any) -> None:
    api = limited
    assert _submit(api, "ana").status_code == 202
    _age("ana", 50)  # ten minutes before it leaves the hour
    assert _submit(api, "ana").status_code == 202
    refused = _submit(api, "ana")
    assert refused.status_code == 429
    assert "limit of 2 batches per hour" in refused.json()["detail"]
    assert "'ana'" in refused.json()["detail"]
    assert 595 <= int(refused.headers["Retry-After"]) <= 601
    assert _submit(api, "bo").status_code == 202  # another user counts apart
    _age("ana", 61)
    assert _submit(api, "ana").status_code == 202  # the hour moved on


def test_titles_per_hour_and_a_batch_larger_than_the_limit(limited: Any) -> None:
    api = limited
    assert _submit(api, "编辑部", 3).status_code == 202
    refused = _submit(api, "编辑部", 3)
    assert refused.status_code == 429
    body = refused.json()
    assert "limit of 5 titles per hour" in body["detail"] and body["errors"][0]["field"] == "titles"
    assert int(refused.headers["Retry-After"]) > 3500
    assert _submit(api, "编辑部", 2).status_code == 202  # exactly up to the limit
    too_big = _submit(api, "someone", 6)
    assert too_big.status_code == 422 and "more than the limit of 5" in too_big.json()["detail"]


def test_an_admin_sets_and_reads_a_users_own_limits(limited: Any) -> None:
    api = limited
    assert _submit(api, "ana").status_code == 202
    got = api.get("/api/limits/ana").json()
    assert got == {"user_name": "ana", "max_batches_per_hour": 2, "max_titles_per_hour": 5,
                   "batches_override": None, "titles_override": None,
                   "batches_last_hour": 1, "titles_last_hour": 1}
    put = api.put("/api/limits/ana", json={"max_batches_per_hour": 0, "max_titles_per_hour": 100})
    assert put.status_code == 200 and put.json()["batches_override"] == 0
    for _ in range(3):  # 0: unlimited for her
        assert _submit(api, "ana").status_code == 202
    assert api.put("/api/limits/ana", json={"max_batches_per_hour": 1}).status_code == 200
    assert _submit(api, "ana").status_code == 429
    assert api.get("/api/limits/ana").json()["max_titles_per_hour"] == 5  # null: the default


@pytest.mark.parametrize("body", [{"max_batches_per_hour": -1}, {"max_titles_per_hour": "5"},
                                  {"max_titles_per_hour": 2.5}, {"max_batches_per_hour": True},
                                  {"max_batches_per_hour": 10**7}, {"other": 1}])
def test_bad_limits_are_refused_naming_the_field(api: Any, body: dict[str, Any]) -> None:
    response = api.put("/api/limits/ana", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == next(iter(body))


def test_without_limits_nothing_is_refused(api: Any) -> None:
    for _ in range(3):
        assert _submit(api, "ana", 10).status_code == 202
