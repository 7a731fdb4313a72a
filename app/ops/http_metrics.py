"""HTTP request metrics: count and latency by method, route template and status.

An ASGI middleware, outermost in app.main, so it also counts what other middleware answers
(413 from app.core.limits). The route label is the template the router matched
(`/api/tasks/{task_id}/status`), never the raw path, so ids cannot grow the label set; a
request that matched no route is counted as `<unmatched>`. The figures are in the default
registry, which app.core.prometheus switches to multiprocess files when
PROMETHEUS_MULTIPROC_DIR is set (several uvicorn workers add up on /metrics).

Latency is until the last byte of the answer: for the event stream, the stream's lifetime.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram

from app.core import prometheus  # noqa: F401  (multiprocess values before any metric)

Scope = dict[str, Any]
UNMATCHED = "<unmatched>"
# Methods outside this set (random verbs from scanners) are counted as OTHER.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

HTTP_REQUESTS = Counter(
    "trustagency_http_requests",
    "HTTP requests answered by the API, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "trustagency_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method, route template and "
    "status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def route_of(scope: Scope) -> str:
    """The template of the route that handled the request (set on the scope by the router)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return UNMATCHED
    return path


class HttpMetrics:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope.get("method", "GET")
            labels = (method if method in METHODS else "OTHER", route_of(scope), str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)
