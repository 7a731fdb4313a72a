"""Live progress of a batch as Server-Sent Events (the page's EventSource, `curl -N`)."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.background import BackgroundTask

from app.routes.deps import require_token
from app.services.live import BatchStream

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

_bearer = HTTPBearer(auto_error=False, description="API_TOKEN, when the server sets one")


def token_from_header_or_query(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    token: str | None = Query(
        None,
        max_length=512,
        description="API_TOKEN, for clients that cannot send headers (the browser's "
        "EventSource). Prefer the Authorization header elsewhere.",
    ),
) -> None:
    if credentials is None and token:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    require_token(credentials)


class _RedactToken(logging.Filter):
    """Keep `?token=` out of the access log (uvicorn logs the full path with its query)."""

    PATTERN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            record.args = tuple(
                self.PATTERN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


logging.getLogger("uvicorn.access").addFilter(_RedactToken())


@router.get(
    "/{task_id}/events",
    dependencies=[Depends(token_from_header_or_query)],
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An event stream"},
        404: {"description": "No batch with this id"},
    },
)
async def task_events(task_id: str) -> StreamingResponse:
    """Progress as it happens: a `snapshot` first, `progress` on every change (with the `item`
    that changed), comment heartbeats, and a final `snapshot` after which the stream ends."""
    stream = BatchStream(task_id)
    if not await stream.open():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"task_id: no batch {task_id!r}")
    return StreamingResponse(
        stream.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(stream.close),  # also when the stream never started
    )
