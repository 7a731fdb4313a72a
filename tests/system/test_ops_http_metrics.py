"""HTTP request metrics add up across API processes (several uvicorn workers, or servers on one
machine) through PROMETHEUS_MULTIPROC_DIR, like the worker metrics do."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import running_api

LIVE = {"method": "GET", "route": "/api/health/live", "status": "200"}


def live_count(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == "trustagency_http_requests_total" and s.labels == LIVE)


def test_http_metrics_add_up_across_api_processes(database, tmp_path):
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(prom_dir)}
    with running_api(database, tmp_path, **env) as first, \
            running_api(database, tmp_path, **env) as second:
        for _ in range(7):
            assert httpx.get(f"{first.url}/api/health/live", timeout=10).status_code == 200
        for _ in range(5):
            assert httpx.get(f"{second.url}/api/health/live", timeout=10).status_code == 200
        # Each process wrote its own file; either one's /metrics adds them up.
        assert live_count(first.url) == 12
        assert live_count(second.url) == 12
        assert len({f.name.rsplit("_", 1)[-1] for f in prom_dir.glob("counter_*.db")}) >= 2
