"""The article library over HTTP: list and search, export as a ZIP, and the editor's preview.

Included before app.articles.endpoints, so `/api/articles/export.zip` and `/preview` are not
taken for an article id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.articles import library, repository
from app.articles.endpoints import FRAGMENT_HEADERS
from app.articles.enums import ArticleStatus
from app.articles.naming import content_disposition
from app.articles.render import markdown_to_html
from app.articles.repository import ArticleQuery
from app.articles.schemas import ArticlePage, article_out
from app.core.auth import SessionDep
from app.core.schemas import MAX_OFFSET, TEXT_PATTERN

router = APIRouter(prefix="/api/articles", tags=["articles"])

MAX_QUERY = 200
MAX_PREVIEW = 500_000


class ArticleFilters(BaseModel):
    """The library's filters (every one given must hold) and its order. An empty `q` counts as
    not given; any other parameter, when given, must be valid (the schema says how)."""

    category: str | None = Field(None, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
                                 description="Only this category")
    status: ArticleStatus | None = Field(None, description="Only articles in this review state")
    language: str | None = Field(None, max_length=35,
                                 pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
                                 description="A BCP 47 tag; `zh` also finds `zh-CN`, `zh-TW`")
    task_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                description="Only this batch's articles")
    since: datetime | None = Field(None, description="Created at or after (ISO 8601; UTC "
                                   "when no offset is given)")
    until: datetime | None = Field(None, description="Created before (ISO 8601)")
    # No control characters but tabs and line breaks (which separate words): a NUL was a 500
    # (FTS5 "unterminated string"; PostgreSQL refuses it in text).
    q: str | None = Field(None, max_length=MAX_QUERY, pattern=TEXT_PATTERN,
                          description="Full text over title and content: every word (or "
                          '"quoted phrase") must appear; works for Chinese, 1 character and up')
    sort: Literal["created_at", "updated_at", "title"] = Field(
        "created_at", description="updated_at is the last change (created_at when never edited)")
    order: Literal["asc", "desc"] = "desc"

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_time(cls, value: Any) -> Any:
        # pydantic would also take a number of seconds ("0.5"): the schema promises ISO 8601.
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError("must be an ISO 8601 time such as 2026-12-01T08:00:00Z") from None
            try:  # compared in UTC: 0001-01-01T00:00:00+01:00 has no UTC time (was a 500)
                if when.tzinfo is not None:
                    when.astimezone(UTC)
            except OverflowError:
                raise ValueError("must be a time from year 1 to 9999 in UTC") from None
        return value

    @field_validator("q", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def query(self) -> ArticleQuery:
        return library.make_query(
            category=self.category, status=self.status, language=self.language,
            task_id=self.task_id, since=self.since, until=self.until, q=self.q,
            sort=self.sort or "created_at", order=self.order or "desc")


class ArticleListParams(ArticleFilters):
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(max_length=MAX_PREVIEW, description="Markdown")


@router.get("", response_model=ArticlePage, dependencies=[allow(Permission.READ)])
def list_articles(
    session: SessionDep, params: Annotated[ArticleListParams, Query()]
) -> ArticlePage:
    """The library: articles matching every filter given, newest first unless sorted."""
    limit, offset = params.limit or 100, params.offset or 0
    rows, total = repository.list_articles(session, params.query(), limit=limit, offset=offset)
    return ArticlePage(items=[article_out(a) for a in rows], total=total, limit=limit,
                       offset=offset)


@router.get(
    "/export.zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}},
                     "description": "One Markdown file per article with YAML front matter, "
                     "and manifest.csv; streamed"}},
    dependencies=[allow(Permission.READ)],
)
def export_articles(filters: Annotated[ArticleFilters, Query()]) -> StreamingResponse:
    """The articles the library's filters select, as a ZIP streamed while it is read."""
    query = filters.query()
    return StreamingResponse(
        library.export_zip(query), media_type="application/zip",
        headers={"Content-Disposition": content_disposition(library.library_export_name(query)),
                 "Cache-Control": "no-store"})


@router.post("/preview", response_class=HTMLResponse, dependencies=[allow(Permission.SUBMIT)])
def preview(body: PreviewIn) -> HTMLResponse:
    """Markdown rendered as the reader shows it (raw HTML escaped), for the editor's preview."""
    return HTMLResponse(markdown_to_html(body.content), headers=FRAGMENT_HEADERS)
