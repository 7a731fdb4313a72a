"""The audit trail, read only: GET /api/audit (+ .csv) for admins, an article's own history
for readers. No route writes, changes or deletes an entry (app.audit.middleware appends)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.audit import service
from app.audit.export import csv_lines
from app.audit.repository import AuditFilter
from app.audit.schemas import AuditEntryOut, AuditFilters, AuditPage, AuditPageParams, PageParams
from app.core.auth import SessionDep
from app.core.schemas import MAX_INT_ID

router = APIRouter(tags=["audit"])


def _page(session: SessionDep, where: AuditFilter, params: PageParams) -> AuditPage:
    rows, cursor = service.entries(session, where, before=params.before, limit=params.limit)
    return AuditPage(items=[AuditEntryOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/api/audit", response_model=AuditPage, dependencies=[allow(Permission.ADMIN)])
def list_audit(session: SessionDep, params: Annotated[AuditPageParams, Query()]) -> AuditPage:
    """Every state-changing request, newest first: who, what, which object, what changed, the
    answer's status, from where. Page on with `before=<next_cursor>`."""
    return _page(session, params.where(), params)


@router.get("/api/audit.csv", response_class=StreamingResponse,
            dependencies=[allow(Permission.ADMIN)],
            responses={200: {"content": {"text/csv": {}},
                             "description": "The entries the filters select, streamed"}})
def export_audit(filters: Annotated[AuditFilters, Query()]) -> StreamingResponse:
    """The same filters as GET /api/audit, every matching entry as CSV (UTF-8), newest first."""
    return StreamingResponse(
        csv_lines(service.every_entry(filters.where())), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"',
                 "Cache-Control": "no-store"})


@router.get("/api/articles/{article_id}/history", response_model=AuditPage,
            dependencies=[allow(Permission.READ)])
def article_history(
    session: SessionDep, params: Annotated[PageParams, Query()],
    article_id: Annotated[int, Path(ge=1, le=MAX_INT_ID, description="The article's id")],
) -> AuditPage:
    """What was done to this article (approve, edit, publish, regenerate...), newest first."""
    return _page(session, AuditFilter(object_type="article", object_id=str(article_id)), params)
