"""What the worker and beat processes do at their milestones (Celery signals).

Imported by app/celery_app.py, so every `celery -A app.celery_app ...` process connects them.
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
import socket
from typing import Any

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
    worker_shutdown,
)

from app.batches.generation import quality_gate
from app.config import get_settings
from app.core import workers
from app.core.db import reset_engine
from app.core.logs import bind_log_context, clear_log_context, configure_logging, prepare_handler
from app.core.redis import get_redis
from app.core.sentry import init_sentry

# Imported here, before the pool forks: prefork children inherit the SDK (half a second to
# import) instead of each importing it on its first task.
from app.llm import get_provider
from app.llm import openai_provider as _sdk  # noqa: F401
from app.llm.instrumentation import instrumented_provider
from app.ops.metrics import prune_dead_processes, start_worker_exporter
from app.schedules.redbeat import sync_all
from app.worker import loop

log = logging.getLogger(__name__)
settings = get_settings()


@worker_process_init.connect
def _fresh_process(**_: Any) -> None:
    """SQLAlchemy pools are not fork-safe: each prefork child builds its own engine. And its LLM
    client now, not on its first task, so the first wave of items does not start late: its own
    too, since a child forked later (one replacing a child that died) would otherwise share the
    main process's HTTP connections, which its maintenance loop uses to poll the Batch API."""
    reset_engine()
    get_provider.cache_clear()
    instrumented_provider.cache_clear()
    instrumented_provider()


@worker_ready.connect
def _warm_llm_client(**_: Any) -> None:
    """Build the LLM client before the first task. On the threads pool, twenty slots starting at
    once would each import the SDK and build a client under the GIL: the first wave ran late."""
    instrumented_provider()
    # Long-lived from here on; full collections would otherwise rescan it all (see app.main).
    gc.collect()
    gc.freeze()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _log_format(logger: Any = None, **_: Any) -> None:
    """LOG_FORMAT=json, ids of the work at hand, and secrets blanked, in Celery's logs too."""
    for handler in getattr(logger, "handlers", []):
        prepare_handler(handler)
    logging.captureWarnings(settings.log_format == "json")


@task_prerun.connect
def _bind_task_ids(task: Any = None, task_id: str | None = None, args: Any = None,
                   kwargs: Any = None, **_: Any) -> None:
    """Every log line of a task carries its id and, by name, its batch/item/schedule id."""
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
    clear_log_context()


@celeryd_init.connect
def _worker_starting(instance: Any = None, **_: Any) -> None:
    if settings.log_format == "json":
        configure_logging()  # JSON from the first line (Celery's own setup comes later)
        if instance is not None:
            instance.quiet = True  # the start-up banner is not JSON
    init_sentry("worker")


@worker_init.connect
def _prune_metric_files(**_: Any) -> None:
    """Before the pool starts: drop metric files left by processes that are gone."""
    if settings.prometheus_multiproc_dir:
        prune_dead_processes(settings.prometheus_multiproc_dir)


@worker_init.connect
def _warm_quality_checks(**_: Any) -> None:
    """Before the pool forks: the quality checks' detector and datasketch (numpy, scipy: about
    2 s to import), so prefork children inherit them instead of each item's first check
    paying for it."""
    quality_gate.warm_up()


@worker_ready.connect
def _worker_metrics(**_: Any) -> None:
    start_worker_exporter()


_heartbeat: workers.Heartbeat | None = None


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    """This worker's key in the registry (app.core.workers): alive, and how many slots."""
    global _heartbeat
    consumer = sender
    hostname = getattr(consumer, "hostname", None) or socket.gethostname()
    pool = getattr(getattr(consumer, "pool", None), "limit", None)
    concurrency = int(pool or getattr(getattr(consumer, "app", None), "conf", {}).get(
        "worker_concurrency") or settings.celery_concurrency)
    pool_name = type(getattr(consumer, "pool", None)).__module__.rsplit(".", 1)[-1]
    info = workers.started_now(hostname, concurrency, pool_name, os.getpid())
    _heartbeat = workers.Heartbeat(get_redis(), info).start()
    log.info("worker %s registered with %d slot(s) (%s pool)", hostname, concurrency, pool_name)


@worker_ready.connect
def _start_maintenance(**_: Any) -> None:
    """Recovery in this worker, on a thread (app/worker/loop.py): it needs no beat and no free
    pool slot. After the heartbeat, which it relies on."""
    loop.start()


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    loop.stop()
    if _heartbeat is not None:
        _heartbeat.stop()


@beat_init.connect
def _beat_starting(**_: Any) -> None:
    """Sentry for beat, and the schedules rebuilt from the database into RedBeat (a Redis that
    lost its data gets them back when beat restarts)."""
    init_sentry("beat")
    try:
        log.info("beat: schedules mirrored into RedBeat: %s", sync_all())
    except Exception as exc:
        log.warning("beat: could not sync the schedules: %s", exc)
