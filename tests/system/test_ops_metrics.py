"""GET /metrics: database, broker and worker figures, and LLM counters added up across processes."""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import use_settings


def scrape(api) -> dict[tuple[str, tuple], float]:
    response = api.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_add_up_across_worker_processes(api, start_worker, fake_llm, llm_env, tmp_path):
    prom_dir = tmp_path / "prometheus"
    fake_llm.default = Behavior(latency=0.4, chunks=4)
    fake_llm.add_rule("Flaky title", ["500"])  # one server error, then the default
    titles = ["Flaky title", "Metrics title two", "Metrics title three", "Metrics title four"]
    worker = start_worker(concurrency=2, prometheus_multiproc_dir=str(prom_dir), **llm_env)
    batch = submit(api, titles)
    wait_final(api, batch["task_id"])

    use_settings(prometheus_multiproc_dir=str(prom_dir))
    try:
        samples = scrape(api)
    finally:
        use_settings(prometheus_multiproc_dir=None)

    llm = {"provider": "openai-compatible", "model": "test-model"}
    duration = "trustagency_llm_request_duration_seconds"
    assert value(samples, f"{duration}_count", **llm, outcome="ok") == 4
    assert value(samples, f"{duration}_count", **llm, outcome="transient") == 1
    assert value(samples, f"{duration}_sum", **llm, outcome="ok") >= 4 * 0.3
    assert value(samples, f"{duration}_bucket", **llm, outcome="ok", le="0.25") == 0
    assert value(samples, f"{duration}_bucket", **llm, outcome="ok", le="+Inf") == 4
    assert value(samples, "trustagency_llm_retries_total", error_class="transient") == 1

    # Token counters match the usage stored with the articles, summed over every process.
    articles = api.get("/api/articles", params={"task_id": batch["task_id"]}).json()["items"]
    for kind in ("prompt", "completion"):
        stored = sum(a["tokens"][kind] for a in articles)
        assert stored > 0
        assert value(samples, "trustagency_llm_tokens_total", **llm, kind=kind) == stored
    pids = {m.group(1) for f in prom_dir.glob("histogram_*.db")
            if (m := re.search(r"_(\d+)\.db$", f.name))}
    assert len(pids) >= 2, f"expected items in several worker processes, got files {pids}"

    assert value(samples, "trustagency_batches", status="completed") == 1
    assert value(samples, "trustagency_items", status="completed") == 4
    assert value(samples, "trustagency_items", status="failed") == 0
    assert value(samples, "trustagency_queue_length", queue="celery") == 0
    assert value(samples, "trustagency_workers_alive") == 1
    assert value(samples, "trustagency_metrics_source_up", source="database") == 1
    assert value(samples, "trustagency_metrics_source_up", source="broker") == 1

    # With the worker gone, a new batch waits in the queue, and the page says so.
    worker.stop()
    waiting = submit(api, ["Queued title"])
    samples = scrape(api)
    assert value(samples, "trustagency_queue_length", queue="celery") == 1
    assert value(samples, "trustagency_workers_alive") == 0
    assert value(samples, "trustagency_batches", status="pending") == 1
    assert value(samples, "trustagency_items", status="pending") == 1
    assert waiting["status"] == "pending"


def test_metrics_without_a_multiprocess_dir_and_with_parts_down(api, database):
    # No PROMETHEUS_MULTIPROC_DIR: still a valid page, from this process and the database.
    submit(api, ["Only title"])
    samples = scrape(api)
    assert value(samples, "trustagency_batches", status="pending") == 1
    assert value(samples, "trustagency_queue_length", queue="celery") == 1

    # A part that cannot be read is reported, the scrape itself still answers.
    use_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        samples = scrape(api)
    finally:
        use_settings(database_url=database)
    assert value(samples, "trustagency_metrics_source_up", source="database") == 0
    assert value(samples, "trustagency_metrics_source_up", source="broker") == 1


def test_multiprocess_files_of_dead_processes_are_pruned(tmp_path: Path):
    from app.ops.metrics import prune_dead_processes

    live = tmp_path / f"counter_{os.getpid()}.db"
    dead = tmp_path / "counter_999999999.db"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    assert prune_dead_processes(str(tmp_path)) == 1
    assert live.exists() and not dead.exists()
