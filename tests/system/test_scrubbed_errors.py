"""Errors scrubbed of secrets before they are stored or served: a provider whose error echoes
the API key (and a URL with a password) leaves neither in the database, the status answer or
the audit of it; the same masking as the logs (app.core.logs.mask_secrets)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.batches.models import GenerationItem
from app.core.db import session_scope
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior

KEY = "proxy-key-Zq81x7Lm0042"  # no known shape: masked because the worker's settings hold it
PASSWORD = "hunter2-db-pass"


def test_a_provider_error_that_echoes_the_key_is_stored_and_served_masked(
        api: Any, start_worker: Any, fake_llm: Any, llm_env: dict[str, str]) -> None:
    fake_llm.default = Behavior(kind="401", message=(
        f"Incorrect API key provided: {KEY}. Bearer {KEY}; your proxy "
        f"https://admin:{PASSWORD}@proxy.example/v1 refused it"))
    start_worker(concurrency=1, **{**llm_env, "OPENAI_API_KEY": KEY})
    task = submit(api, ["一篇会失败的文章"])["task_id"]
    status = wait_final(api, task)
    assert status["status"] == "failed"
    error = status["items"][0]["error"]
    assert "Incorrect API key provided" in error and "***" in error
    with session_scope() as session:
        stored = session.scalars(select(GenerationItem.error)).one()
    for text in (error, stored, api.get(f"/api/tasks/{task}/status").text):
        assert KEY not in text and PASSWORD not in text
