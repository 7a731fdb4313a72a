"""Reading the articles the workers wrote (the library, its search and export:
app.articles.library_endpoints)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from app.articles import repository
from app.articles.errors import ArticleError
from app.articles.models import Article
from app.articles.render import markdown_to_html
from app.articles.schemas import ArticleOut, article_out
from app.core.auth import SessionDep, require_token
from app.core.schemas import (
    MAX_INT_ID,
)

router = APIRouter(prefix="/api/articles", tags=["articles"], dependencies=[Depends(require_token)])

ArticleId = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="The article's id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No article with this id"}}

# An article's HTML may only be shown, never run anything (raw HTML in it is escaped too).
FRAGMENT_HEADERS = {"Content-Security-Policy": "default-src 'none'",
                    "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _article_or_404(session: SessionDep, article_id: int) -> Article:
    article = repository.get_article(session, article_id)
    if article is None:
        raise ArticleError.not_found("article_id", f"no article {article_id}")
    return article


@router.get("/{article_id:int}", response_model=ArticleOut, responses=NOT_FOUND)
def get_article(article_id: ArticleId, session: SessionDep) -> ArticleOut:
    return article_out(_article_or_404(session, article_id))


@router.get("/{article_id:int}/markdown", response_class=PlainTextResponse, responses={
    **NOT_FOUND, 200: {"content": {"text/markdown": {}}, "description": "The Markdown file"}})
def get_article_markdown(article_id: ArticleId, session: SessionDep) -> Response:
    """The article as a Markdown file (`curl -OJ` saves it as article-<id>.md)."""
    return Response(
        _article_or_404(session, article_id).content,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="article-{article_id}.md"'},
    )


@router.get("/{article_id:int}/html", response_class=HTMLResponse, responses=NOT_FOUND)
def article_html(article_id: ArticleId, session: SessionDep) -> HTMLResponse:
    """The article rendered as an HTML fragment for the reader (raw HTML in it is escaped)."""
    article = _article_or_404(session, article_id)
    return HTMLResponse(markdown_to_html(article.content), headers=FRAGMENT_HEADERS)
