"""Health: 200 when the database, the broker and a worker answer; 503 naming what is down."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.services import health

router = APIRouter(tags=["health"])


@router.get("/api/health")
async def get_health() -> Any:
    report = await run_in_threadpool(health.check)
    return JSONResponse(report, status_code=200 if not report["down"] else 503)
