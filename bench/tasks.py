"""Bare Celery tasks for the side-by-side baselines, on the project's own app and settings.

Loaded only by benchmark workers (`celery -A app.celery_app worker -I bench.tasks`). Each task
counts itself done with one INCR, so the bench knows when a run ended without a result backend
(the item tasks ignore their results too).
"""

from __future__ import annotations

import time

from app.celery_app import app
from app.core.redis import get_redis
from app.llm import get_provider
from app.llm.base import ArticleRequest

DONE_KEY = "bench:done"


@app.task(name="bench.tasks.noop", ignore_result=True)
def noop() -> None:
    get_redis().incr(DONE_KEY)


@app.task(name="bench.tasks.sleep", ignore_result=True)
def sleep(seconds: float) -> None:
    time.sleep(seconds)
    get_redis().incr(DONE_KEY)


@app.task(name="bench.tasks.llm_call", ignore_result=True)
def llm_call(title: str) -> None:
    """Only the LLM call, through the same provider and SDK as the items: no DB, no events."""
    get_provider().generate(ArticleRequest(title=title, category="bench"), lambda _size: None)
    get_redis().incr(DONE_KEY)


@app.task(name="bench.tasks.noop_result")
def noop_result() -> int:
    """A no-op whose result Celery stores in the result backend (same Redis), as a plain
    `@app.task` does by default: the baseline for the service's L=0 throughput."""
    get_redis().incr(DONE_KEY)
    return 1
