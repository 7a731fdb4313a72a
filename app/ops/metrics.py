"""Prometheus metrics.

Two kinds, gathered at scrape time into one text page (`GET /metrics`):
- read from the stack when scraped: batches and items by status (database: one GROUP BY on
  each indexed status column), queue depth (broker), live workers (the heartbeat registry,
  app.core.workers: no broadcast). True on every machine, however many processes there are.
  The page is rendered at most once per METRICS_CACHE_SECONDS (`render`), so scrapes from
  several Prometheus servers, or a flood of requests, cost one render.
- counted where the work happens: LLM request latency, tokens and retries. A prefork worker
  counts in several processes, so with PROMETHEUS_MULTIPROC_DIR set every process writes its
  figures to files there (prometheus-client's multiprocess mode) and a scrape adds them up.
  Without it they stay in each process (fine for the threads pool, lost for prefork).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    ProcessCollector,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from app.batches import repository as batch_repository
from app.batches.enums import BatchStatus, ItemStatus
from app.config import get_settings
from app.core import names, workers
from app.core.db import session_scope
from app.core.redis import broker_client, get_redis
from app.llm import instrumentation  # noqa: F401  (its counters are part of the page)
from app.schedules import repository as schedule_repository

log = logging.getLogger(__name__)


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
        with session_scope(read_only=True) as session:
            batches, items = batch_repository.counts_by_status(session)
            schedules = schedule_repository.count_by_enabled(session)
        yield _by_label("trustagency_batches", "Batches by status (database).", "status",
                        {s: batches.get(s, 0) for s in BatchStatus})
        yield _by_label("trustagency_items", "Items (one per title) by status (database).",
                        "status", {s: items.get(s, 0) for s in ItemStatus})
        yield _by_label("trustagency_schedules", "Scheduled batches (database).", "enabled",
                        {"true": schedules.get(True, 0), "false": schedules.get(False, 0)})

    def _broker(self) -> Iterator[Metric]:
        client = broker_client(timeout=1)
        try:
            depth = {q: int(client.llen(q)) for q in names.WORKER_QUEUES}
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
        try:
            alive = workers.alive(get_redis())
        except Exception as exc:
            log.warning("metrics: could not read the worker registry: %s", exc)
            alive = {}
        yield GaugeMetricFamily(
            "trustagency_workers_alive",
            "Celery workers whose heartbeat key is alive (app.core.workers).",
            value=len(alive),
        )
        yield GaugeMetricFamily(
            "trustagency_worker_slots",
            "Task slots (concurrency) of the live workers.",
            value=sum(w.concurrency for w in alive.values()),
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


def _render_now() -> bytes:
    registry = registry_for(get_settings().prometheus_multiproc_dir)
    registry.register(StackCollector())  # type: ignore[arg-type]
    return generate_latest(registry)


class _RenderedPage:
    """The last page and when it was rendered; one render at a time (the others wait for it
    and take its page rather than rendering again)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._body = b""
        self._at = -float("inf")

    def get(self, max_age: float) -> bytes:
        with self._lock:
            if time.monotonic() - self._at >= max_age or not self._body:
                self._body = _render_now()
                self._at = time.monotonic()
            return self._body


_page = _RenderedPage()


def render() -> tuple[bytes, str]:
    """The page served at /metrics, at most METRICS_CACHE_SECONDS old."""
    return _page.get(get_settings().metrics_cache_seconds), CONTENT_TYPE_LATEST


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
    path = settings.prometheus_multiproc_dir
    if not path:
        log.warning("WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: only the worker's "
                    "main process is counted (enough for the threads pool, not for prefork)")
    start_http_server(settings.worker_metrics_port, settings.worker_metrics_address,
                      registry=registry_for(path))
    log.info("worker metrics on http://%s:%s/metrics", settings.worker_metrics_address,
             settings.worker_metrics_port)
    return settings.worker_metrics_port
