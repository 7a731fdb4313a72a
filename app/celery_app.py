"""The Celery application `trustagency`: JSON only, UTC, time limits, late acks."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from app.config import get_settings

settings = get_settings()

app = Celery(
    "trustagency",
    broker=settings.celery_broker_url,
    backend=settings.celery_result_backend,
    include=["app.tasks.ai_generation", "app.tasks.maintenance"],
)

app.conf.update(
    # The plan's settings.
    task_serializer=settings.celery_task_serializer,
    accept_content=["json"],  # a pickled message is refused, never run
    result_serializer="json",
    timezone="UTC",
    enable_utc=True,
    task_track_started=True,
    task_time_limit=settings.celery_task_time_limit,
    task_soft_time_limit=settings.celery_task_soft_time_limit,
    # Long LLM calls: ack after the work, requeue when a worker dies mid-task, and let each
    # process hold one message at a time so a slow call does not strand others behind it.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Above the hard limit, or Redis redelivers tasks that are still running (DESIGN.md §7).
    broker_transport_options={"visibility_timeout": settings.celery_visibility_timeout},
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    result_expires=settings.celery_result_expires,
    result_extended=True,
    # Events for Flower.
    worker_send_task_events=True,
    task_send_sent_event=True,
    # RedBeat keeps the schedule and its lock in Redis.
    beat_scheduler="redbeat.RedBeatScheduler",
    redbeat_redis_url=settings.redis_url,
    redbeat_key_prefix="ta:redbeat:",
    redbeat_lock_timeout=max(30, int(settings.reaper_interval * 5)),
    beat_max_loop_interval=5,
    beat_schedule={
        "reap-stuck-items": {
            "task": "app.tasks.maintenance.reap_stuck_items",
            "schedule": settings.reaper_interval,
            "options": {"expires": settings.reaper_interval},
        },
    },
)


@worker_process_init.connect
def _fresh_engine_after_fork(**_: Any) -> None:
    """SQLAlchemy pools are not fork-safe: each prefork child builds its own engine."""
    from app.db import reset_engine

    reset_engine()


@app.task(bind=True, name="app.celery_app.debug_task")
def debug_task(self: Any) -> str:
    """The plan's smoke test: prints its request."""
    print(f"Request: {self.request!r}")
    return "ok"
