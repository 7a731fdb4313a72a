"""The editor's page at `/`: plain HTML, CSS and JavaScript from app/web, no build step."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.orm import Session

from app.config import get_settings
from app.routes.deps import get_session, require_token
from app.services import articles
from app.services.render import markdown_to_html

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC = {"app.js": "text/javascript", "style.css": "text/css", "favicon.svg": "image/svg+xml"}

# Nothing inline, nothing from elsewhere: even a rendering bug could not run an article's script.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/articles", tags=["articles"], dependencies=[Depends(require_token)])


@lru_cache
def _template() -> str:
    return (WEB_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    settings = get_settings()
    page = (
        _template()
        .replace("{{MAX_TITLES}}", escape(str(settings.max_titles_per_batch)))
        .replace("{{MAX_TITLE_LENGTH}}", escape(str(settings.max_title_length)))
    )
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {name!r}")
    return FileResponse(WEB_DIR / name, media_type=STATIC[name], headers=SECURITY_HEADERS)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return static("favicon.svg")


@api.get("/{article_id}/html", response_class=HTMLResponse, include_in_schema=True)
def article_html(article_id: int, session: Session = Depends(get_session)) -> HTMLResponse:
    """The article rendered as an HTML fragment for the reader (raw HTML in it is escaped)."""
    article = articles.get_article(session, article_id)
    if article is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"article_id: no article {article_id}"
        )
    return HTMLResponse(
        markdown_to_html(article.content),
        headers={**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'none'"},
    )
