"""Prometheus text format at /metrics (keep it off the public internet: see deploy/nginx)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from app.metrics import render

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics"}})
async def metrics() -> Response:
    """Batches and items by status, queue depth, live workers, LLM latency, tokens, retries."""
    body, content_type = await run_in_threadpool(render)
    return Response(body, media_type=content_type)
