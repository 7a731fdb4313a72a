"""The Celery application `trustagency`: JSON only, UTC, time limits, late acks."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    beat_init,
    celeryd_init,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
)

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
    # Events for Flower (CELERY_TASK_EVENTS; see bench/RESULTS.md for what they cost).
    worker_send_task_events=settings.celery_task_events,
    task_send_sent_event=settings.celery_task_events,
    # RedBeat keeps the schedule and its lock in Redis; app/beat.py makes it survive a restart.
    beat_scheduler="app.beat:RedBeatScheduler",
    redbeat_redis_url=settings.redis_url,
    redbeat_key_prefix="ta:redbeat:",
    redbeat_redis_options={},  # explicit: the broker's transport options are not RedBeat's
    redbeat_lock_timeout=max(30, int(settings.reaper_interval * 5)),
    beat_max_loop_interval=5,
    beat_schedule={
        "reap-stuck-items": {
            "task": "app.tasks.maintenance.reap_stuck_items",
            "schedule": settings.reaper_interval,
            "options": {"expires": settings.reaper_interval},
        },
        "cleanup-old-data": {
            "task": "app.tasks.maintenance.cleanup_old_data",
            "schedule": settings.cleanup_interval,
            "options": {"expires": settings.cleanup_interval},
        },
        # Schedules live in the database; their RedBeat entries are rebuilt if Redis lost them.
        "sync-schedules": {
            "task": "app.tasks.maintenance.sync_schedules",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
    },
)


@worker_process_init.connect
def _fresh_engine_after_fork(**_: Any) -> None:
    """SQLAlchemy pools are not fork-safe: each prefork child builds its own engine."""
    from app.db import reset_engine

    reset_engine()


@worker_init.connect
def _import_llm_sdk(**_: Any) -> None:
    """Import the SDK (half a second) once, before the pool forks: prefork children inherit it
    instead of each importing it on its first task."""
    if settings.llm_provider == "openai":
        import app.llm.openai_provider  # noqa: F401


@worker_ready.connect
def _warm_llm_client(**_: Any) -> None:
    """Build the LLM client before the first task. On the threads pool, twenty slots starting at
    once would each import the SDK and build a client under the GIL: the first wave ran late.
    (Prefork children build theirs on their first task, one each.)"""
    import gc

    from app.llm import get_provider

    get_provider()
    # Long-lived from here on; full collections would otherwise rescan it all (see app.main).
    gc.collect()
    gc.freeze()


@app.task(bind=True, name="app.celery_app.debug_task")
def debug_task(self: Any) -> str:
    """The plan's smoke test: prints its request."""
    print(f"Request: {self.request!r}")
    return "ok"


# --- operations: logs, errors, metrics (app.logs, app.observability, app.metrics) --------


@after_setup_logger.connect
@after_setup_task_logger.connect
def _log_format(logger: Any = None, **_: Any) -> None:
    """LOG_FORMAT=json, ids of the work at hand, and secrets blanked, in Celery's logs too."""
    import logging

    from app.logs import prepare_handler

    for handler in getattr(logger, "handlers", []):
        prepare_handler(handler)
    logging.captureWarnings(settings.log_format == "json")


@task_prerun.connect
def _bind_task_ids(task: Any = None, task_id: str | None = None, args: Any = None,
                   kwargs: Any = None, **_: Any) -> None:
    """Every log line of a task carries its id and, by name, its batch/item/schedule id."""
    import inspect

    from app.logs import bind_log_context, clear_log_context

    clear_log_context()
    ids: dict[str, Any] = {"task_id": task_id, "task_name": getattr(task, "name", None)}
    try:
        params = [p for p in inspect.signature(task.run).parameters if p != "self"]
        named = dict(zip(params, args or (), strict=False)) | dict(kwargs or {})
        ids |= {k: v for k, v in named.items() if k in ("batch_id", "item_id", "schedule_id")}
    except (TypeError, ValueError):
        pass
    bind_log_context(**ids)


@task_postrun.connect
def _unbind_task_ids(**_: Any) -> None:
    from app.logs import clear_log_context

    clear_log_context()


@celeryd_init.connect
def _worker_starting(instance: Any = None, **_: Any) -> None:
    from app.observability import init_sentry

    if settings.log_format == "json":
        from app.logs import configure_logging

        configure_logging()  # JSON from the first line (Celery's own setup comes later)
        if instance is not None:
            instance.quiet = True  # the start-up banner is not JSON
    init_sentry("worker")


@worker_init.connect
def _prune_metric_files(**_: Any) -> None:
    """Before the pool starts: drop metric files left by processes that are gone."""
    if settings.prometheus_multiproc_dir:
        from app.metrics import prune_dead_processes

        prune_dead_processes(settings.prometheus_multiproc_dir)


@worker_ready.connect
def _worker_metrics(**_: Any) -> None:
    from app.metrics import start_worker_exporter

    start_worker_exporter()


@beat_init.connect
def _beat_starting(**_: Any) -> None:
    """Sentry for beat, and the schedules rebuilt from the database into RedBeat (a Redis that
    lost its data gets them back when beat restarts)."""
    import logging

    from app.observability import init_sentry

    init_sentry("beat")
    try:
        from app.services.schedules import sync_all

        logging.getLogger(__name__).info("beat: schedules mirrored into RedBeat: %s", sync_all())
    except Exception as exc:
        logging.getLogger(__name__).warning("beat: could not sync the schedules: %s", exc)
