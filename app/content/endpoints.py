"""The public Content API: read-only, published articles only, for the site's front end.

Every answer carries a strong ETag (a hash of its bytes), Last-Modified (the newest live text it
holds) and `Cache-Control: public, max-age=60`; If-None-Match (or, without it,
If-Modified-Since) gives a 304. With CONTENT_API_KEY set, each request needs it (`?key=` or
an `X-Content-Key` header), else 401. Thin: app.content.service decides what is shown.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.articles.seo import MAX_SLUG, MAX_TAG, SLUG_PATTERN
from app.config import get_settings
from app.content import feeds, service
from app.content.schemas import ContentArticle, ContentPage
from app.core.auth import SessionDep

CACHE_CONTROL = "public, max-age=60"
MAX_KEY = 200


def content_key(
    key: Annotated[str | None, Query(max_length=MAX_KEY, description="CONTENT_API_KEY, when "
                                     "the site set one (or the X-Content-Key header)")] = None,
    x_content_key: Annotated[str | None, Header(max_length=MAX_KEY)] = None,
) -> None:
    expected = get_settings().content_api_key
    if expected is None:
        return
    given = (x_content_key or key or "").encode()
    if not secrets.compare_digest(given, expected.get_secret_value().encode()):
        raise HTTPException(401, detail="key: this Content API needs its key (?key= or the "
                            "X-Content-Key header)")


router = APIRouter(tags=["content"], dependencies=[Depends(content_key)])

Language = Annotated[str | None, Query(
    max_length=35, pattern=service.LANGUAGE_PATTERN, description="BCP 47: en, zh-CN (zh also "
    "finds zh-CN and zh-TW)")]
Category = Annotated[str | None, Query(min_length=1, max_length=64)]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match or If-Modified-Since)"},
    401: {"description": "CONTENT_API_KEY is set and the request did not send it"}}


def base_url(request: Request) -> str:
    return (get_settings().content_base_url or str(request.base_url)).rstrip("/")


def _not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    if (match := request.headers.get("if-none-match")) is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since is None or modified is None:
        return False
    try:
        return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored (RFC 9110 13.1.3)


def cached(request: Request, body: bytes, media_type: str, modified: datetime | None
           ) -> Response:
    """`body` with its validators, or a 304 when the client's copy is current."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _json(request: Request, model: ContentPage | ContentArticle, modified: datetime | None
          ) -> Response:
    return cached(request, model.model_dump_json().encode(), "application/json", modified)


@router.get("/content/articles", response_model=ContentPage, responses=NOT_MODIFIED,
            dependencies=[allow(Permission.CONTENT)])
def list_articles(
    request: Request, session: SessionDep, language: Language = None, category: Category = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=MAX_TAG)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the "
                                       "previous page")] = None,
) -> Response:
    """Published articles, newest first by published_at; their published version only."""
    found = service.page(session, base_url=base_url(request), limit=limit, cursor=cursor,
                         language=language, category=category, tag=tag)
    return _json(request, found, service.last_modified(found.items))


@router.get("/content/articles/{slug}", response_model=ContentArticle, responses={
    **NOT_MODIFIED, 404: {"description": "No published article with this slug"},
    409: {"description": "The slug is published in several languages: add ?language="}},
    dependencies=[allow(Permission.CONTENT)])
def get_article(
    request: Request, session: SessionDep,
    slug: Annotated[str, Path(max_length=MAX_SLUG, pattern=SLUG_PATTERN)],
    language: Language = None,
) -> Response:
    """One published article by its slug (and language, when it is in several)."""
    article = service.by_slug(session, slug, language, base_url=base_url(request))
    return _json(request, article, article.updated_at)


def _feed_args(request: Request, session: SessionDep, language: str | None,
               category: str | None) -> tuple[list[ContentArticle], dict[str, Any]]:
    site = base_url(request)
    articles = service.newest(session, base_url=site, size=service.FEED_SIZE,
                              language=language, category=category)
    self_url = site + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return articles, {"title": get_settings().content_site_title, "site_url": site,
                      "self_url": self_url, "now": feeds.EMPTY_FEED_TIME}


@router.get("/content/rss.xml", response_class=Response, responses={
    **NOT_MODIFIED, 200: {"content": {"application/rss+xml": {}}}},
    dependencies=[allow(Permission.CONTENT)])
def rss_feed(request: Request, session: SessionDep, language: Language = None,
             category: Category = None) -> Response:
    """RSS 2.0 of the newest 50 published articles."""
    articles, args = _feed_args(request, session, language, category)
    body = feeds.rss(articles, language=language, **args)
    return cached(request, body, "application/rss+xml; charset=utf-8",
                  service.last_modified(articles))


@router.get("/content/atom.xml", response_class=Response, responses={
    **NOT_MODIFIED, 200: {"content": {"application/atom+xml": {}}}},
    dependencies=[allow(Permission.CONTENT)])
def atom_feed(request: Request, session: SessionDep, language: Language = None,
              category: Category = None) -> Response:
    """Atom of the newest 50 published articles, with their HTML."""
    articles, args = _feed_args(request, session, language, category)
    return cached(request, feeds.atom(articles, **args), "application/atom+xml; charset=utf-8",
                  service.last_modified(articles))


@router.get("/sitemap.xml", response_class=Response, responses={
    **NOT_MODIFIED, 200: {"content": {"application/xml": {}}}},
    dependencies=[allow(Permission.CONTENT)])
def sitemap(request: Request, session: SessionDep) -> Response:
    """Every published article's URL with its lastmod (sitemaps.org 0.9)."""
    locations = service.locations(session, base_url=base_url(request))
    return cached(request, feeds.sitemap(locations), "application/xml; charset=utf-8",
                  max((at for _url, at in locations), default=None))
