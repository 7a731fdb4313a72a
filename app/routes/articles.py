"""Reading the articles the workers wrote."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from app.routes.deps import get_session, require_token
from app.schemas import ArticleOut, ArticlePage, article_out
from app.services import articles

router = APIRouter(prefix="/api/articles", tags=["articles"], dependencies=[Depends(require_token)])


@router.get("", response_model=ArticlePage)
def list_articles(
    session: Session = Depends(get_session),
    task_id: str | None = Query(None, max_length=64, description="Only this batch's articles"),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> ArticlePage:
    rows, total = articles.list_articles(session, task_id=task_id, limit=limit, offset=offset)
    return ArticlePage(
        items=[article_out(a) for a in rows], total=total, limit=limit, offset=offset
    )


def _article_or_404(session: Session, article_id: int):  # type: ignore[no-untyped-def]
    article = articles.get_article(session, article_id)
    if article is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"article_id: no article {article_id}"
        )
    return article


@router.get("/{article_id}", response_model=ArticleOut)
def get_article(article_id: int, session: Session = Depends(get_session)) -> ArticleOut:
    return article_out(_article_or_404(session, article_id))


@router.get("/{article_id}/markdown", response_class=PlainTextResponse)
def get_article_markdown(article_id: int, session: Session = Depends(get_session)) -> Response:
    """The article as a Markdown file (`curl -OJ` saves it as article-<id>.md)."""
    return Response(
        _article_or_404(session, article_id).content,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="article-{article_id}.md"'},
    )
