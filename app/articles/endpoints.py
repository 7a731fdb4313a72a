"""Reading, reviewing and editing the articles the workers wrote (the library, its search
and export: app.articles.library_endpoints). Thin: the logic is in
app.articles.service, the commit at the end of the request. (Regenerating one article goes
through the batch queue: app/batches/api/article_endpoints.py.)"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.accounts.principal import Principal
from app.articles import publishing, service
from app.articles.errors import ArticleError
from app.articles.naming import content_disposition, slug_for
from app.articles.render import markdown_to_html
from app.articles.schemas import (
    ArticleOut,
    EditIn,
    PublishAtIn,
    ReviewIn,
    UnpublishIn,
    VersionList,
    VersionOut,
    article_out,
    version_out,
)
from app.core.auth import SessionDep
from app.core.schemas import MAX_INT_ID

router = APIRouter(prefix="/api/articles", tags=["articles"])
readers = [allow(Permission.READ)]

# An article's HTML may only be shown, never run anything (raw HTML in it is escaped too).
FRAGMENT_HEADERS = {"Content-Security-Policy": "default-src 'none'",
                    "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
ArticleId = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="The article's id")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="A version number")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No article with this id"}}
ETAG_PATTERN = r'^(?:W/)?"?\d{1,9}"?$'  # what to send; surrounding spaces are taken too
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


@router.get("/{article_id:int}", response_model=ArticleOut, responses=NOT_FOUND,
            dependencies=readers)
def get_article(article_id: ArticleId, session: SessionDep, response: Response) -> ArticleOut:
    """The article; its `ETag` is its version, for `If-Match` on PATCH."""
    article = service.get_or_404(session, article_id)
    response.headers["ETag"] = etag(article.version)
    return article_out(article)


@router.get("/{article_id:int}/markdown", response_class=PlainTextResponse, responses={
    **NOT_FOUND, 200: {"content": {"text/markdown": {}}, "description": "The Markdown file"}},
    dependencies=readers)
def get_article_markdown(article_id: ArticleId, session: SessionDep) -> Response:
    """The article as a Markdown file named after its title (`curl -OJ` keeps the name;
    `filename*` in UTF-8 per RFC 6266, with an ASCII fallback)."""
    article = service.get_or_404(session, article_id)
    return Response(
        article.content,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": content_disposition(slug_for(article.title) + ".md"),
                 "ETag": etag(article.version)},
    )


@router.get("/{article_id:int}/html", response_class=HTMLResponse, responses=NOT_FOUND,
            dependencies=readers)
def article_html(article_id: ArticleId, session: SessionDep) -> HTMLResponse:
    """The article rendered as an HTML fragment for the reader (raw HTML in it is escaped)."""
    article = service.get_or_404(session, article_id)
    return HTMLResponse(markdown_to_html(article.content), headers=FRAGMENT_HEADERS)


REVIEW_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND, 409: {"description": "Not allowed from the article's current state, or stale: "
                       "the article changed since the version you read"},
    428: {"description": "No version given (the `version` field or If-Match)"}}
IfMatch = Annotated[str | None, Header(
    max_length=64, pattern=ETAG_PATTERN, description='The ETag of the version you read: "3"')]


def seen_version(body_version: float | None, if_match: str | None) -> int | None:
    """The version the caller read: If-Match (the HTTP precondition) wins over the body's."""
    version = None
    if body_version is not None:
        if not float(body_version).is_integer() or not 1 <= body_version <= MAX_INT_ID:
            raise ArticleError.invalid("version",
                                       f"must be a whole number from 1, got {body_version}")
        version = int(body_version)
    if if_match is not None:
        match = _ETAG.match(if_match)
        if match is None:
            raise ArticleError.invalid("if-match", 'must be the ETag of GET, like "3"')
        version = int(match.group(1))
    return version


def _answer(response: Response, article: Any) -> ArticleOut:
    response.headers["ETag"] = etag(article.version)
    return article_out(article)


def _reviewed(session: SessionDep, response: Response, article_id: ArticleId, action: str,
              body: ReviewIn | None, if_match: str | None, who: Principal) -> ArticleOut:
    """The reviewer recorded is the signed-in user; a `reviewer` in the body is ignored."""
    body = body or ReviewIn()
    article = service.review(session, article_id, action,
                             version=seen_version(body.version, if_match), note=body.note,
                             reviewer=who.name)
    return _answer(response, article)


@router.post("/{article_id:int}/approve", response_model=ArticleOut, responses=REVIEW_RESPONSES)
def approve_article(who: Annotated[Principal, allow(Permission.REVIEW)],
                    article_id: ArticleId, session: SessionDep, response: Response,
                    if_match: IfMatch = None, body: ReviewIn | None = Body(None)) -> ArticleOut:
    """draft or needs_review → approved, for the version you read (an optional note is kept;
    the reviewer is you)."""
    return _reviewed(session, response, article_id, "approve", body, if_match, who)


@router.post("/{article_id:int}/reject", response_model=ArticleOut, responses=REVIEW_RESPONSES)
def reject_article(who: Annotated[Principal, allow(Permission.REVIEW)],
                   article_id: ArticleId, session: SessionDep, response: Response,
                   if_match: IfMatch = None, body: ReviewIn | None = Body(None)) -> ArticleOut:
    """draft or needs_review → rejected (an edit or a regeneration makes it a draft again)."""
    return _reviewed(session, response, article_id, "reject", body, if_match, who)


@router.post("/{article_id:int}/publish", response_model=ArticleOut, responses=REVIEW_RESPONSES)
def publish_article(who: Annotated[Principal, allow(Permission.PUBLISH)],
                    article_id: ArticleId, session: SessionDep, response: Response,
                    if_match: IfMatch = None, body: ReviewIn | None = Body(None)) -> ArticleOut:
    """approved or scheduled → published now: the version you read goes live."""
    return _reviewed(session, response, article_id, "publish", body, if_match, who)


@router.post("/{article_id:int}/schedule", response_model=ArticleOut,
             responses=REVIEW_RESPONSES)
def schedule_article(who: Annotated[Principal, allow(Permission.PUBLISH)],
                     article_id: ArticleId, body: PublishAtIn, session: SessionDep,
                     response: Response, if_match: IfMatch = None) -> ArticleOut:
    """approved → scheduled: the workers publish it at `publish_at` (UTC)."""
    article = publishing.schedule(session, article_id,
                                  version=seen_version(body.version, if_match),
                                  publish_at=body.publish_at, note=body.note,
                                  reviewer=who.name)
    return _answer(response, article)


@router.post("/{article_id:int}/unpublish", response_model=ArticleOut,
             responses=REVIEW_RESPONSES)
def unpublish_article(who: Annotated[Principal, allow(Permission.PUBLISH)],
                      article_id: ArticleId, session: SessionDep, response: Response,
                      body: UnpublishIn | None = Body(None)) -> ArticleOut:
    """Take the live version down (the article is approved again), or cancel a schedule."""
    body = body or UnpublishIn()
    article = publishing.unpublish(session, article_id, note=body.note, reviewer=who.name)
    return _answer(response, article)


@router.patch("/{article_id:int}", response_model=ArticleOut, responses={
    **NOT_FOUND, 409: {"description": "Stale (the article changed since that version), or the "
                       "slug is taken"},
    428: {"description": "No version given (the `version` field or If-Match)"}})
def edit_article(who: Annotated[Principal, allow(Permission.SUBMIT)],
                 article_id: ArticleId, body: EditIn, session: SessionDep, response: Response,
                 if_match: IfMatch = None) -> ArticleOut:
    """Change the title, content and/or SEO fields: stored as a new version (the old ones are
    kept). An approved, scheduled or published article goes back to review; a published one
    stays live with its published version until the edit is published."""
    article = service.edit(session, article_id, version=seen_version(body.version, if_match),
                           title=body.title, content=body.content, reviewer=who.name,
                           note=body.note, seo_fields=body.seo_fields())
    return _answer(response, article)


@router.get("/{article_id:int}/versions", response_model=VersionList, responses=NOT_FOUND,
            dependencies=readers)
def list_versions(article_id: ArticleId, session: SessionDep) -> VersionList:
    """Every version, oldest first: the generated original, edits and regenerations."""
    rows = service.versions(session, article_id)
    current = service.get_or_404(session, article_id).version
    return VersionList(items=[version_out(r) for r in rows], total=len(rows),
                       current=current)


@router.get("/{article_id:int}/versions/{number:int}", response_model=VersionOut, responses={
    404: {"description": "No such article or version"}}, dependencies=readers)
def get_version(article_id: ArticleId, number: VersionNumber, session: SessionDep) -> VersionOut:
    return version_out(service.version(session, article_id, number))
