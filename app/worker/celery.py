"""The Celery application `trustagency` and its configuration: JSON only, UTC, time limits,
late acks. Signal handlers live in app.worker.signals; app/celery_app.py ties both together."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from celery import Celery
from kombu import Exchange, Queue

from app.config import get_settings
from app.core import names, queue

settings = get_settings()


def redbeat_config(redis_url: str) -> dict[str, Any]:
    """RedBeat's Redis with its credentials out of the URL, in `redbeat_redis_options` (which
    redis-py's from_url merges back in). The configuration Flower shows (a worker's `inspect
    conf`, censored by Celery's key names) and Celery prints then holds no password: Celery
    masks only the broker and backend URLs, and masks a "password" key anywhere."""
    parts = urlsplit(redis_url)
    options: dict[str, Any] = {}
    if parts.password is not None:
        options["password"] = unquote(parts.password)
    if parts.username:
        options["username"] = unquote(parts.username)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    url = urlunsplit(parts._replace(netloc=netloc)) if options else redis_url
    # Explicit even when empty: the broker's transport options are not RedBeat's.
    return {"redbeat_redis_url": url, "redbeat_redis_options": options}


app = Celery(
    "trustagency",
    broker=settings.celery_broker_url,
    backend=settings.celery_result_backend,
    include=["app.batches.tasks", "app.schedules.tasks", "app.webhooks.tasks",
             "app.publishing.tasks"],
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
    # Article work and maintenance on queues of their own: beat's periodic tasks are never
    # behind a backlog of items (a worker takes from both in turn). A worker started without
    # -Q consumes both; recovery itself runs on a thread in each worker (app/worker/loop.py).
    task_queues=[Queue(q, Exchange(q), routing_key=q) for q in names.WORKER_QUEUES],
    task_default_queue=names.ITEM_QUEUE,
    task_routes={**{task: {"queue": names.MAINTENANCE_QUEUE} for task in names.MAINTENANCE_TASKS},
                 names.WEBHOOK_DELIVER_TASK: {"queue": names.WEBHOOK_QUEUE},
                 **{task: {"queue": names.PUBLISHING_QUEUE} for task in names.PUBLISHING_TASKS}},
    # Above the hard limit, or Redis redelivers tasks that are still running
    # (docs/architecture.md, "Traps").
    broker_transport_options={"visibility_timeout": settings.celery_visibility_timeout},
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    result_expires=settings.celery_result_expires,
    result_extended=True,
    # Events for Flower (CELERY_TASK_EVENTS; see bench/RESULTS.md for what they cost).
    worker_send_task_events=settings.celery_task_events,
    task_send_sent_event=settings.celery_task_events,
    # RedBeat keeps the schedule and its lock in Redis; app/worker/beat.py survives restarts.
    beat_scheduler="app.worker.beat:RedBeatScheduler",
    **redbeat_config(settings.redis_url),
    redbeat_key_prefix=names.REDBEAT_PREFIX,
    redbeat_lock_timeout=max(30, int(settings.reaper_interval * 5)),
    beat_max_loop_interval=5,
    # Beat runs the cron schedules (app/schedules/redbeat.py) and housekeeping. Polling the
    # Batch API and resuming paused batches are not here: every worker's maintenance loop runs
    # them (app/worker/loop.py), so they need no beat. Recovery runs there too; beat's reaper
    # stays as a second line (docs/architecture.md, "Beat").
    beat_schedule={
        "reap-stuck-items": {
            "task": names.REAP_TASK,
            "schedule": settings.reaper_interval,
            "options": {"expires": settings.reaper_interval},
        },
        "cleanup-old-data": {
            "task": names.CLEANUP_TASK,
            "schedule": settings.cleanup_interval,
            "options": {"expires": settings.cleanup_interval},
        },
        # Schedules live in the database; their RedBeat entries are rebuilt if Redis lost them.
        "sync-schedules": {
            "task": names.SYNC_SCHEDULES_TASK,
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
    },
)


queue.bind(app)


@app.task(bind=True, name=names.DEBUG_TASK)
def debug_task(self: Any) -> str:
    """The plan's smoke test: prints its request."""
    print(f"Request: {self.request!r}")
    return "ok"
