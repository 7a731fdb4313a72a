"""The editor's page at `/`: plain HTML, CSS and JavaScript from app/web, no build step."""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.config import get_settings

WEB_DIR = Path(__file__).resolve().parent
STATIC = {"app.js": "text/javascript", "i18n.js": "text/javascript", "style.css": "text/css",
          "library.js": "text/javascript", "reader.js": "text/javascript",
          "favicon.svg": "image/svg+xml", "profiles.js": "text/javascript",
          "webhooks.js": "text/javascript", "accounts.js": "text/javascript",
          "audit.js": "text/javascript", "seo.js": "text/javascript",
          "publishing.js": "text/javascript"}

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
# The page and its files are public: the page itself shows the login form.
public = [allow(Permission.PUBLIC)]


@lru_cache
def _template() -> str:
    return (WEB_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, dependencies=public)
def index() -> HTMLResponse:
    settings = get_settings()
    page = (
        _template()
        .replace("{{MAX_TITLES}}", escape(str(settings.max_titles_per_batch)))
        .replace("{{MAX_TITLE_LENGTH}}", escape(str(settings.max_title_length)))
    )
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.get("/static/{name}", dependencies=public)
def static(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {name!r}")
    return FileResponse(WEB_DIR / name, media_type=STATIC[name], headers=SECURITY_HEADERS)


@router.get("/favicon.ico", dependencies=public)
def favicon() -> FileResponse:
    return static("favicon.svg")
