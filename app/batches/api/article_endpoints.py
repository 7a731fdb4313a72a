"""The article routes that run work through the batch queue: regenerate one article. (They
live here, not in app.articles, because app.articles sits below app.batches in the layers.)"""

from __future__ import annotations

from fastapi import APIRouter, Body, Response, status

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.articles.endpoints import ArticleId
from app.batches import regenerate
from app.batches.api.schemas import RegenerateIn, RegenerateOut
from app.core.auth import SessionDep

router = APIRouter(prefix="/api/articles", tags=["articles"])


@router.post(
    "/{article_id:int}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RegenerateOut,
    responses={404: {"description": "No article with this id"},
               409: {"description": "Its item is being written already"}},
    dependencies=[allow(Permission.SUBMIT)],
)
def regenerate_article(article_id: ArticleId, session: SessionDep, response: Response,
                       body: RegenerateIn | None = Body(None)) -> RegenerateOut:
    """Write the article again (optional `feedback` goes into the prompt): its item runs
    through the normal queue, its batch shows it running, and the result is stored as the
    article's next version. Follow it at the Location (the batch's status)."""
    reopened = regenerate.regenerate(session, article_id, (body or RegenerateIn()).feedback)
    response.headers["Location"] = f"/api/tasks/{reopened.task_id}/status"
    return RegenerateOut(**reopened.__dict__)
