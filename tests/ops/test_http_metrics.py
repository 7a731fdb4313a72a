"""HTTP request metrics on /metrics: counted by method, route template (never the raw path) and
status, with their latency; the multiprocess side is in tests/system/test_ops_http_metrics.py."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from app.ops.http_metrics import UNMATCHED

COUNT = "trustagency_http_requests_total"
LATENCY = "trustagency_http_request_duration_seconds"


def scrape(api) -> dict[tuple[str, tuple], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples, name: str, method: str, route: str, status: str, **extra: str) -> float:
    labels = {"method": method, "route": route, "status": status, **extra}
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_and_status(api):
    status_route = "/api/tasks/{task_id}/status"
    before = scrape(api)
    ids = [f"{n:032x}" for n in range(3)]
    for task_id in ids:  # three raw paths, one route
        assert api.get(f"/api/tasks/{task_id}/status").status_code == 404
    assert api.get("/api/tasks", params={"limit": 0}).status_code == 422
    assert api.post("/api/tasks/generate-articles",
                    content=b"x" * 2_000_000, headers={"content-type": "application/json"}
                    ).status_code == 413  # answered by the body-size middleware
    for path in ("/no/such/page", "/another/unknown/path"):
        assert api.get(path).status_code == 404
    assert api.get("/api/health/live").status_code == 200
    after = scrape(api)

    def delta(name: str, method: str, route: str, status: str, **extra: str) -> float:
        return (value(after, name, method, route, status, **extra)
                - value(before, name, method, route, status, **extra))

    assert delta(COUNT, "GET", status_route, "404") == 3
    assert delta(f"{LATENCY}_count", "GET", status_route, "404") == 3
    assert delta(f"{LATENCY}_sum", "GET", status_route, "404") > 0
    assert delta(f"{LATENCY}_bucket", "GET", status_route, "404", le="+Inf") == 3
    assert delta(COUNT, "GET", "/api/tasks", "422") == 1
    assert delta(COUNT, "POST", "/api/tasks/generate-articles", "413") == 1
    assert delta(COUNT, "GET", UNMATCHED, "404") == 2
    assert delta(COUNT, "GET", "/api/health/live", "200") == 1
    assert delta(COUNT, "GET", "/metrics", "200") == 1  # the first scrape, seen by the second
    # No raw path became a label.
    routes = {dict(labels).get("route") for (name, labels) in after if name == COUNT}
    assert not any(task_id in str(route) for route in routes for task_id in ids)
    assert not any("unknown" in str(route) for route in routes)
