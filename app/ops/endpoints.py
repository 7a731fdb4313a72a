"""Health (liveness apart from readiness) and Prometheus metrics.

Public: liveness, and readiness as a bare status (load balancers and orchestrators need no
credentials and learn nothing else). The details (`/api/health`) and `/metrics` need the `ops`
permission: an admin, or a token with the `ops` scope (Prometheus' bearer token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.ops import health
from app.ops.metrics import render
from app.ops.schemas import HealthOut, LiveOut, ReadyOut

router = APIRouter()

HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every part answers"},
    503: {"model": HealthOut, "description": "`down` names the parts that do not answer"},
}


@router.get("/api/health", tags=["health"], response_model=HealthOut,
            responses=HEALTH_RESPONSES, dependencies=[allow(Permission.OPS)])
async def get_health() -> Any:
    """200 when the database, the broker and at least one worker (its heartbeat in the
    registry) answer; 503 naming the part that does not, with its error."""
    report = await run_in_threadpool(health.check)
    return JSONResponse(report, status_code=200 if not report["down"] else 503)


@router.get("/api/health/ready", tags=["health"], response_model=ReadyOut,
            dependencies=[allow(Permission.PUBLIC)],
            responses={503: {"model": ReadyOut, "description": "A part does not answer "
                             "(which one: GET /api/health, with the ops permission)"}})
async def get_ready() -> Any:
    """Readiness (the checks of /api/health): send traffic here only when it is 200."""
    ok = await run_in_threadpool(health.ready)
    return JSONResponse({"status": "ok" if ok else "unavailable"},
                        status_code=200 if ok else 503)


@router.get("/api/health/live", tags=["health"], response_model=LiveOut,
            dependencies=[allow(Permission.PUBLIC)])
async def get_live() -> LiveOut:
    """Liveness: the process answers, whatever the database, Redis or the workers do. Restart
    it only when this fails."""
    return LiveOut(status="ok")


@router.get("/metrics", response_class=Response, tags=["monitoring"],
            dependencies=[allow(Permission.OPS)],
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics"}})
async def metrics() -> Response:
    """Batches and items by status, queue depth, live workers, LLM latency, tokens, retries,
    HTTP requests by route and status; rendered at most once per METRICS_CACHE_SECONDS."""
    body, content_type = await run_in_threadpool(render)
    return Response(body, media_type=content_type)
