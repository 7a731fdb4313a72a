"""What a batch costs (issue 12): each article's tokens at the price table's rates, summed on the
batch in /status, /progress, the event stream, the CLI and /metrics; an unknown model is a null
cost with a note, not an error. Real workers, the fake OpenAI server through the SDK."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.cli.costs import usd
from app.llm import prices
from tests.support import http
from tests.support.fake_openai import Behavior
from tests.support.server import running_api
from tests.support.stack import wait_for
from tests.system.test_cli import cli
from tests.system.test_ops_metrics import value

FINAL = {"completed", "partially_completed", "failed", "cancelled"}


def _metrics(url: str) -> dict:
    samples = {}
    for family in text_string_to_metric_families(http.get(f"{url}/metrics").text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_a_batch_of_ten_shows_its_cost_at_the_price_table_rates(
        database, tmp_path, start_worker, fake_llm, llm_env):
    prom = tmp_path / "prometheus"
    fake_llm.default = Behavior(latency=0.5, chunks=4)
    start_worker(concurrency=2, prometheus_multiproc_dir=str(prom),
                 **{**llm_env, "OPENAI_MODEL": "gpt-4o-mini"})
    price = prices.price_for("openai", "gpt-4o-mini")
    assert price is not None and price.source == "genai-prices"
    titles = [f"Costed title {i}" for i in range(10)]
    with running_api(database, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(prom)) as server:
        batch = http.post(f"{server.url}/api/tasks/generate-articles",
                          json={"titles": titles, "category": "guide"}).json()
        task = batch["task_id"]
        assert (batch["cost_usd"], batch["prompt_tokens"], batch["mode"]) == (0.0, 0, "realtime")

        # Midway, the estimate of what is left follows the batch's own average.
        def midway() -> dict | None:
            p = http.get(f"{server.url}/api/tasks/{task}/progress").json()
            return p if p["completed"] >= 2 and p["current"] < p["total"] else None

        progress = wait_for(midway, timeout=60, message="a few articles written")
        left = progress["total"] - progress["current"]
        assert progress["cost_remaining_usd"] == pytest.approx(
            progress["cost_usd"] / progress["completed"] * left, rel=1e-6)

        status = wait_for(lambda: (s := http.get(f"{server.url}/api/tasks/{task}/status")
                                   .json())["status"] in FINAL and s, timeout=60,
                          message="the batch to end")
        assert status["status"] == "completed"
        articles = http.get(f"{server.url}/api/articles", params={"task_id": task}).json()
        assert articles["total"] == 10
        total = 0.0
        for article in articles["items"]:
            tokens = article["tokens"]
            expected = (tokens["prompt"] * price.input
                        + tokens["completion"] * price.output) / 1_000_000
            assert tokens["prompt"] > 0 and tokens["completion"] > 0
            assert article["cost_usd"] == pytest.approx(expected, rel=1e-9)
            assert article["lane"] == "realtime"
            total += expected
        items = {i["article_id"]: i for i in status["items"]}
        for article in articles["items"]:
            assert items[article["id"]]["cost_usd"] == pytest.approx(article["cost_usd"])
        assert status["cost_usd"] == pytest.approx(total, rel=1e-9)
        assert status["prompt_tokens"] == sum(a["tokens"]["prompt"] for a in articles["items"])
        assert status["completion_tokens"] == sum(
            a["tokens"]["completion"] for a in articles["items"])
        assert status["cost_unknown"] == 0 and status["cost_note"] is None
        assert status["cost_remaining_usd"] is None  # it ended
        final = http.get(f"{server.url}/api/tasks/{task}/progress").json()
        assert final["cost_usd"] == status["cost_usd"]

        # The event stream's snapshot carries the same figures.
        with httpx.stream("GET", f"{server.url}/api/tasks/{task}/events",
                          timeout=http.TIMEOUT) as events:
            first = next(json.loads(line[6:]) for line in events.iter_lines()
                         if line.startswith("data: "))
        assert first["type"] == "snapshot" and first["cost_usd"] == status["cost_usd"]
        assert first["prompt_tokens"] == status["prompt_tokens"]

        # The CLI shows it, in its table and as JSON.
        shown = cli("status", task, url=server.url)
        assert shown.returncode == 0, shown.stderr
        assert f"cost {usd(status['cost_usd'])}" in shown.stdout
        assert f"{status['prompt_tokens']:,} prompt" in shown.stdout
        as_json = json.loads(cli("status", task, "--json", url=server.url).stdout)
        assert as_json["cost_usd"] == status["cost_usd"]

        # /metrics adds the worker processes' counters up.
        samples = _metrics(server.url)
        labels = {"provider": "openai-compatible", "model": "gpt-4o-mini", "lane": "realtime"}
        assert value(samples, "trustagency_llm_cost_usd_total", **labels) == pytest.approx(
            total, rel=1e-6)


def test_a_model_with_no_price_costs_null_with_a_note(api, start_worker, fake_llm, llm_env):
    worker = start_worker(concurrency=2, **{**llm_env, "OPENAI_MODEL": "house-model-7b"})
    batch = api.post("/api/tasks/generate-articles",
                     json={"titles": ["Unpriced one", "Unpriced two"], "category": "guide"}).json()
    status = wait_for(lambda: (s := api.get(f"/api/tasks/{batch['task_id']}/status").json())
                      ["status"] in FINAL and s, timeout=60, message="the batch to end")
    assert status["status"] == "completed"  # not an error
    assert status["cost_usd"] is None and status["cost_unknown"] == 2
    assert "LLM_PRICES" in status["cost_note"] and status["prompt_tokens"] > 0
    articles = api.get("/api/articles", params={"task_id": batch["task_id"]}).json()["items"]
    assert [a["cost_usd"] for a in articles] == [None, None]
    wait_for(lambda: "no price for model 'house-model-7b'" in worker.log_tail(200), timeout=10,
             message="the log line naming LLM_PRICES")
    assert worker.logged("set LLM_PRICES=")
