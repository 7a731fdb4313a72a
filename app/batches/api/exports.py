"""A batch's articles as one ZIP: here, because it needs the batch (app.batches) and the
article library's export (app.articles), and only this layer may use both."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.articles import library
from app.articles.naming import content_disposition
from app.articles.repository import BATCH_ORDER, ArticleQuery
from app.batches import service
from app.batches.api.endpoints import TaskId
from app.core.auth import SessionDep

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

ZIP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}},
          "description": "One Markdown file per article (in the batch's order) with YAML front "
          "matter, and manifest.csv; streamed"},
    404: {"description": "No batch with this id"},
}


@router.get("/{task_id}/export.zip", response_class=StreamingResponse, responses=ZIP_RESPONSES,
            dependencies=[allow(Permission.READ)])
def export_batch(task_id: TaskId, session: SessionDep) -> StreamingResponse:
    """The batch's articles as a ZIP, streamed while they are read (a running batch: those
    written so far)."""
    batch = service.get_or_404(session, task_id)
    query = ArticleQuery(task_id=batch.id, sort=BATCH_ORDER, order="asc")
    name = library.batch_export_name(batch.category, batch.id, batch.created_at)
    return StreamingResponse(library.export_zip(query), media_type="application/zip",
                             headers={"Content-Disposition": content_disposition(name),
                                      "Cache-Control": "no-store"})
