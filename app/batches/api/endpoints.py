"""The task-queue API: submit a batch, follow it, cancel it, list batches. Thin: the logic is
in app.batches.service, the commit at the end of the request (app.core.auth.SessionDep)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.convertors import Convertor, register_url_convertor

from app.accounts import service as accounts
from app.accounts.auth import allow, must_own
from app.accounts.permissions import Permission
from app.accounts.principal import Principal
from app.batches import repository, service
from app.batches.api.live import BatchStream
from app.batches.api.schemas import (
    BatchOut,
    BatchPage,
    BatchPatch,
    GenerateRequest,
    ProgressOut,
    batch_out,
)
from app.batches.enums import BatchStatus, Priority
from app.batches.errors import BatchNotFound
from app.batches.progress import Snapshot, eta_seconds
from app.batches.validation import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    OWNER_MAX_LENGTH,
    OWNER_PATTERN,
)
from app.core.auth import SessionDep
from app.core.models import utcnow
from app.core.schemas import MAX_STR_ID_LENGTH, STR_ID_PATTERN, limit_query, offset_query

router = APIRouter(prefix="/api/tasks", tags=["tasks"])
readers = [allow(Permission.READ)]
# Editors and reviewers act on their own batches only (must_own); admins on any.
Submitter = Annotated[Principal, allow(Permission.SUBMIT)]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No batch with this id"}}
class _BatchIdConvertor(Convertor[str]):
    """`/api/tasks/{id}` never matches `generate-articles`: without this, `OPTIONS` or `GET`
    on the submit path would answer 405 advertising the batch's PATCH in `Allow`."""

    regex = r"(?!generate-articles$)[A-Za-z0-9_-]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("batch_id", _BatchIdConvertor())

TaskId = Annotated[str, Path(min_length=1, max_length=MAX_STR_ID_LENGTH, pattern=STR_ID_PATTERN,
                             description="The batch's id (`task_id` of the 202 answer)")]


@router.post(
    "/generate-articles",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={409: {"description": "Idempotency-Key reused for a different batch"},
               403: {"description": "`owner` names another user and the caller is no admin"},
               429: {"description": "The owner's hourly submit limit is reached (Retry-After "
                     "says when to try again)"}},
)
def generate_articles(
    who: Submitter,
    body: GenerateRequest,
    response: Response,
    session: SessionDep,
    idempotency_key: str | None = Header(
        None, max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Send the same key again to get the same batch back (printable ASCII, "
        "no spaces)", json_schema_extra={"pattern": IDEMPOTENCY_KEY_PATTERN},
    ),
) -> BatchOut:
    """Submit titles; one article per title is written in the background. The batch's owner
    is the caller; an admin may submit on behalf of an existing user (`owner`)."""
    batch, created = service.submit(session, body.titles, body.category, idempotency_key,
                                    mode=body.mode, max_cost_usd=body.max_cost_usd,
                                    language=body.language, priority=body.priority,
                                    owner=accounts.owner_for(session, who, body.owner))
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/tasks/{batch.id}/status"
    return batch_out(batch)


@router.get("", response_model=BatchPage, dependencies=readers)
def list_tasks(
    session: SessionDep,
    limit: int = limit_query(20, 200),
    offset: int = offset_query(),
    status_: BatchStatus | None = Query(None, alias="status",
                                        description="Only batches in this state"),
    priority: Priority | None = Query(None, description="Only batches of this priority"),
    owner: str | None = Query(
        None, max_length=OWNER_MAX_LENGTH, pattern=OWNER_PATTERN,
        description="Only this owner's batches (exact, after trimming and folding spaces as "
        "on submit; blank: any owner)"),
) -> BatchPage:
    """Batches, newest first."""
    rows, total = service.list_batches(session, limit=limit, offset=offset, status=status_,
                                       priority=priority, owner=owner)
    return BatchPage(items=[batch_out(b) for b in rows], total=total, limit=limit, offset=offset)


@router.get("/{task_id}/status", response_model=BatchOut, responses=NOT_FOUND,
            dependencies=readers)
def task_status(task_id: TaskId, session: SessionDep) -> Response:
    """The batch with its counts and one row per item."""
    batch = service.get_or_404(session, task_id)
    out = batch_out(batch, items=repository.item_rows(session, task_id))
    # Serialised once here: returning the model makes FastAPI dump, re-validate and dump it
    # again, which is most of the cost of this route, the one pollers hit.
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/{task_id}/progress", response_model=ProgressOut, responses=NOT_FOUND,
            dependencies=readers)
def task_progress(task_id: TaskId, session: SessionDep) -> ProgressOut:
    """`current` items out of `total` reached a final state; `progress` is 0-100."""
    batch = service.get_or_404(session, task_id)
    snapshot = Snapshot.of(batch)
    eta = eta_seconds(batch.started_at, utcnow(), snapshot.current, snapshot.total, snapshot.final,
                      paused=batch.status == BatchStatus.PAUSED)
    return ProgressOut(**snapshot.as_dict(), eta_seconds=eta)


@router.post(
    "/{task_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={**NOT_FOUND, 409: {"description": "The batch already ended"}},
)
def cancel_task(who: Submitter, task_id: TaskId, session: SessionDep,
                response: Response) -> BatchOut:
    """Stop a batch: queued items never run, running ones stop, written articles stay."""
    _must_own(session, who, task_id)
    service.cancel(session, task_id)
    return _with_items(session, task_id, response)


@router.post(
    "/{task_id}/retry-failed",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={**NOT_FOUND, 409: {"description": "Still running, cancelled, or nothing failed"}},
)
def retry_failed(who: Submitter, task_id: TaskId, session: SessionDep,
                 response: Response) -> BatchOut:
    """Queue a finished batch's failed items again (attempts start over); the rest stays."""
    _must_own(session, who, task_id)
    service.retry_failed(session, task_id)
    return _with_items(session, task_id, response)


@router.patch(
    "/{task_id:batch_id}",
    response_model=BatchOut,
    responses={**NOT_FOUND, 409: {"description": "The batch already ended"}},
)
def update_task(who: Submitter, task_id: TaskId, body: BatchPatch,
                session: SessionDep) -> BatchOut:
    """Change a running or paused batch's spend cap (`max_cost_usd`, null for none) or
    `priority`. A paused batch stays paused until POST /resume."""
    _must_own(session, who, task_id)
    batch = service.update(session, task_id, body.model_dump(include=body.model_fields_set))
    return batch_out(batch)


@router.post(
    "/{task_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchOut,
    responses={**NOT_FOUND, 409: {"description": "Not paused, or the cap is still reached"}},
)
def resume_task(who: Submitter, task_id: TaskId, session: SessionDep,
                response: Response) -> BatchOut:
    """Resume a batch a budget paused (raise the cap first: PATCH or the setting)."""
    _must_own(session, who, task_id)
    service.resume(session, task_id)
    return _with_items(session, task_id, response)


def _must_own(session: SessionDep, who: Principal, task_id: str) -> None:
    must_own(who, service.get_or_404(session, task_id).owner, f"batch {task_id}")


def _with_items(session: SessionDep, task_id: str, response: Response) -> BatchOut:
    session.flush()
    response.headers["Location"] = f"/api/tasks/{task_id}/status"
    return batch_out(service.get_or_404(session, task_id),
                     items=repository.item_rows(session, task_id))


@router.get(
    "/{task_id}/events",
    dependencies=readers,  # the page's EventSource sends its session cookie; no token in the URL
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An event stream"},
        **NOT_FOUND,
    },
)
async def task_events(task_id: TaskId) -> StreamingResponse:
    """Progress as it happens: a `snapshot` first, `progress` on every change (with the `item`
    that changed), comment heartbeats, and a final `snapshot` after which the stream ends."""
    stream = BatchStream(task_id)
    if not await stream.open():
        raise BatchNotFound(task_id)
    return StreamingResponse(
        stream.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(stream.close),  # also when the stream never started
    )
