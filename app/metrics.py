"""Prometheus metrics.

Two kinds, gathered at scrape time into one text page (`GET /metrics`):
- read from the stack when scraped: batches and items by status (database), queue depth
  (broker), live workers (ping). True on every machine, however many processes there are.
- counted where the work happens: LLM request latency, tokens and retries. A prefork worker
  counts in several processes, so with PROMETHEUS_MULTIPROC_DIR set every process writes its
  figures to files there (prometheus-client's multiprocess mode) and a scrape adds them up.
  Without it they stay in each process (fine for the threads pool, lost for prefork).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from app.config import get_settings

log = logging.getLogger(__name__)


def _use_multiprocess_dir() -> str | None:
    """Switch this process to multiprocess values before any metric below is created."""
    path = get_settings().prometheus_multiproc_dir
    if path:
        os.makedirs(path, exist_ok=True)
        # prometheus-client reads the directory from the environment when it opens a file.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        values.ValueClass = values.MultiProcessValue()
    return path


_use_multiprocess_dir()

LLM_LATENCY = Histogram(
    "trustagency_llm_request_duration_seconds",
    "Time of one LLM request (the whole stream), by provider, model and outcome.",
    ["provider", "model", "outcome"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300),
)
LLM_TOKENS = Counter(
    "trustagency_llm_tokens",
    "Tokens reported by the LLM provider, by provider, model and kind (prompt, completion).",
    ["provider", "model", "kind"],
)
LLM_RETRIES = Counter(
    "trustagency_llm_retries",
    "Item attempts that failed and were scheduled again, by error class.",
    ["error_class"],
)

# Outcome labels stay a small fixed set; anything else is "error".
_OUTCOMES = {
    "RateLimited", "TransientError", "PermanentError", "Cancelled", "LeaseLost",
    "DeadlineExceeded", "SoftTimeLimitExceeded",
}


class _Instrumented:
    """A provider whose `generate` is timed and whose token usage is counted."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def generate(self, request: Any, checkpoint: Any) -> Any:
        provider = self._provider
        name = str(getattr(provider, "name", "unknown"))
        model = str(getattr(provider, "model", None) or name)
        started = time.perf_counter()
        outcome = "error"
        try:
            generated = provider.generate(request, checkpoint)
            outcome = "ok"
        except BaseException as exc:
            outcome = type(exc).__name__ if type(exc).__name__ in _OUTCOMES else "error"
            raise
        finally:
            LLM_LATENCY.labels(name, model, outcome).observe(time.perf_counter() - started)
        LLM_TOKENS.labels(name, model, "prompt").inc(generated.prompt_tokens)
        LLM_TOKENS.labels(name, model, "completion").inc(generated.completion_tokens)
        return generated


def instrumented(provider: Any) -> Any:
    return _Instrumented(provider)


def count_retry(exc: BaseException) -> None:
    LLM_RETRIES.labels(type(exc).__name__).inc()


# --- read at scrape time -----------------------------------------------------------------


class StackCollector:
    """Figures read from the database, the broker and the workers at each scrape.

    A part that cannot be read is reported as `trustagency_metrics_source_up{source=...} 0`
    instead of failing the whole scrape.
    """

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "trustagency_metrics_source_up",
            "1 when the source could be read during this scrape.",
            labels=["source"],
        )
        for source, read in (("database", self._database), ("broker", self._broker)):
            try:
                yield from read()
                up.add_metric([source], 1)
            except Exception as exc:
                log.warning("metrics: could not read the %s: %s", source, exc)
                up.add_metric([source], 0)
        yield from self._workers()
        yield up

    def _database(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from app.db import session_scope
        from app.models import AIGenerationTask, BatchStatus, GenerationItem, ItemStatus, Schedule

        with session_scope() as session:
            batches = dict(session.execute(  # type: ignore[arg-type]
                select(AIGenerationTask.status, func.count()).group_by(AIGenerationTask.status)
            ).all())
            items = dict(session.execute(  # type: ignore[arg-type]
                select(GenerationItem.status, func.count()).group_by(GenerationItem.status)
            ).all())
            schedules = dict(session.execute(  # type: ignore[arg-type]
                select(Schedule.enabled, func.count()).group_by(Schedule.enabled)
            ).all())
        batch_statuses = (BatchStatus.PENDING, BatchStatus.PROCESSING, *BatchStatus.FINAL)
        item_statuses = (*ItemStatus.WAITING, ItemStatus.PROCESSING, *ItemStatus.FINAL)
        yield _by_label("trustagency_batches", "Batches by status (database).", "status",
                        {s: batches.get(s, 0) for s in batch_statuses})
        yield _by_label("trustagency_items", "Items (one per title) by status (database).",
                        "status", {s: items.get(s, 0) for s in item_statuses})
        yield _by_label("trustagency_schedules", "Scheduled batches (database).", "enabled",
                        {"true": schedules.get(True, 0), "false": schedules.get(False, 0)})

    def _broker(self) -> Iterator[Metric]:
        import redis

        from app.celery_app import app

        queues = [q.name for q in (app.conf.task_queues or [])] or [app.conf.task_default_queue]
        client = redis.Redis.from_url(
            get_settings().celery_broker_url, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            depth = {q: int(client.llen(q)) for q in queues}  # type: ignore[arg-type]
            # Delivered to a worker but not acknowledged yet: running, or waiting for a retry.
            unacked = int(client.hlen("unacked"))  # type: ignore[arg-type]
        finally:
            client.close()
        yield _by_label("trustagency_queue_length", "Messages waiting in the broker queue.",
                        "queue", depth)
        yield GaugeMetricFamily(
            "trustagency_queue_unacked",
            "Messages held by workers and not yet acknowledged (running or retrying later).",
            value=unacked,
        )

    def _workers(self) -> Iterator[Metric]:
        from app.celery_app import app

        try:
            replies = app.control.ping(timeout=0.5) or []
        except Exception as exc:
            log.warning("metrics: could not ping the workers: %s", exc)
            replies = []
        yield GaugeMetricFamily(
            "trustagency_workers_alive",
            "Celery workers that answered a ping during this scrape.",
            value=len({name for reply in replies for name in reply}),
        )


def _by_label(name: str, doc: str, label: str, counts: dict[Any, int]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, count in counts.items():
        family.add_metric([str(key)], count)
    return family


class _ThisProcess:
    """The default registry (this process's counters, process and GC figures)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry_for(path: str | None) -> CollectorRegistry:
    """Counters from every process writing to `path`, or from this process alone."""
    registry = CollectorRegistry(auto_describe=False)
    if path and os.path.isdir(path):
        multiprocess.MultiProcessCollector(registry, path=path)
        ProcessCollector(registry=registry)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    return registry


def render() -> tuple[bytes, str]:
    """The page served at /metrics."""
    registry = registry_for(get_settings().prometheus_multiproc_dir)
    registry.register(StackCollector())  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE_LATEST


# --- worker side -------------------------------------------------------------------------

_PID_FILE = re.compile(r"_(\d+)\.db$")


def prune_dead_processes(path: str) -> int:
    """Delete metric files of processes that no longer exist (at worker start: a restart
    resets the counters, as Prometheus expects, instead of files piling up forever)."""
    removed = 0
    for file in Path(path).glob("*.db"):
        match = _PID_FILE.search(file.name)
        if not match:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            file.unlink(missing_ok=True)
            removed += 1
        except PermissionError:
            continue  # alive, someone else's
    return removed


def start_worker_exporter() -> int | None:
    """Serve this machine's worker metrics on WORKER_METRICS_PORT (a worker machine runs no
    API). Returns the port, or None when the setting is 0."""
    settings = get_settings()
    if not settings.worker_metrics_port:
        return None
    from prometheus_client import start_http_server

    path = settings.prometheus_multiproc_dir
    if not path:
        log.warning("WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: only the worker's "
                    "main process is counted (enough for the threads pool, not for prefork)")
    start_http_server(settings.worker_metrics_port, settings.worker_metrics_address,
                      registry=registry_for(path))
    log.info("worker metrics on http://%s:%s/metrics", settings.worker_metrics_address,
             settings.worker_metrics_port)
    return settings.worker_metrics_port
