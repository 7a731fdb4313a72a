"""The task-queue API: submit a batch, follow it, cancel it, list batches."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response, status
from sqlalchemy.orm import Session

from app.models import AIGenerationTask, utcnow
from app.routes.deps import get_session, require_token
from app.schemas import BatchOut, BatchPage, GenerateRequest, ProgressOut, batch_out
from app.services import batches
from app.services.progress import eta_seconds
from app.services.state import Snapshot

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/tasks", tags=["tasks"], dependencies=[Depends(require_token)])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No batch with this id"}}


def _batch_or_404(session: Session, task_id: str, *, with_items: bool = False) -> AIGenerationTask:
    batch = batches.get(session, task_id, with_items=with_items)
    if batch is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"task_id: no batch {task_id!r}")
    return batch


@router.post(
    "/generate-articles",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={
        409: {"description": "Idempotency-Key reused for a different batch"},
        503: {"description": "The broker is unavailable; nothing was stored"},
    },
)
def generate_articles(
    body: GenerateRequest,
    response: Response,
    session: Session = Depends(get_session),
    idempotency_key: str | None = Header(
        None, max_length=128, description="Send the same key again to get the same batch back"
    ),
) -> BatchOut:
    """Submit titles; one article per title is written in the background."""
    try:
        batch, created = batches.submit(session, body.titles, body.category, idempotency_key)
    except batches.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"idempotency-key: {exc}") from exc
    if created:
        try:
            batches.enqueue_batch(batch)
        except Exception as exc:
            log.error("could not enqueue batch %s: %s", batch.id, exc)
            batches.discard(session, batch.id)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=f"broker: the task queue is unavailable, nothing was stored ({exc})",
            ) from exc
        log.info(
            "batch %s submitted: %d title(s), category %s", batch.id, batch.total, batch.category
        )
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return batch_out(batch)


@router.get("", response_model=BatchPage)
def list_tasks(
    session: Session = Depends(get_session),
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
    status_: str | None = Query(None, alias="status", description="Only batches in this state"),
) -> BatchPage:
    """Batches, newest first."""
    rows, total = batches.list_batches(session, limit=limit, offset=offset, status=status_)
    return BatchPage(items=[batch_out(b) for b in rows], total=total, limit=limit, offset=offset)


@router.get("/{task_id}/status", response_model=BatchOut, responses=NOT_FOUND)
def task_status(task_id: str, session: Session = Depends(get_session)) -> Response:
    """The batch with its counts and one row per item."""
    batch = _batch_or_404(session, task_id)
    out = batch_out(batch, items=batches.item_rows(session, task_id))
    # Serialised once here: returning the model makes FastAPI dump, re-validate and dump it
    # again, which is most of the cost of this route, the one pollers hit.
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/{task_id}/progress", response_model=ProgressOut, responses=NOT_FOUND)
def task_progress(task_id: str, session: Session = Depends(get_session)) -> ProgressOut:
    """`current` items out of `total` reached a final state; `progress` is 0-100."""
    batch = _batch_or_404(session, task_id)
    snapshot = Snapshot.of(batch)
    eta = eta_seconds(batch.started_at, utcnow(), snapshot.current, snapshot.total, snapshot.final)
    return ProgressOut(**snapshot.as_dict(), eta_seconds=eta)


@router.post(
    "/{task_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={**NOT_FOUND, 409: {"description": "The batch already ended"}},
)
def cancel_task(task_id: str, session: Session = Depends(get_session)) -> BatchOut:
    """Stop a batch: queued items never run, running ones stop, written articles stay."""
    return _transition(session, task_id, batches.cancel)


@router.post(
    "/{task_id}/retry-failed",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={**NOT_FOUND, 409: {"description": "Still running, cancelled, or nothing failed"}},
)
def retry_failed(task_id: str, session: Session = Depends(get_session)) -> BatchOut:
    """Queue a finished batch's failed items again (attempts start over); the rest stays."""
    return _transition(session, task_id, batches.retry_failed)


def _transition(
    session: Session, task_id: str, action: Callable[[Session, str], object | None]
) -> BatchOut:
    """Run a batch action: None means unknown id (404), Conflict means wrong state (409)."""
    try:
        result = action(session, task_id)
    except batches.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"task_id: {exc}") from exc
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"task_id: no batch {task_id!r}")
    return batch_out(_batch_or_404(session, task_id, with_items=True), with_items=True)
