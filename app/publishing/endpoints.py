"""Targets (admins) and publications (publishers): thin routes over app.publishing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.core.auth import SessionDep
from app.core.schemas import MAX_INT_ID, limit_query, offset_query
from app.publishing import connection, repository, service, targets
from app.publishing.models import Publication, PublishTarget
from app.publishing.schemas import (
    ConnectionOut,
    PublicationList,
    PublicationOut,
    PublishIn,
    TargetIn,
    TargetOut,
    TargetPage,
    TargetPatch,
    pairs,
)

router = APIRouter(tags=["publishing"])

TargetId = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="The target's id")]
PublicationId = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="The publication's id")]
ArticleId = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="The article's id")]
NO_TARGET: dict[int | str, dict[str, Any]] = {404: {"description": "No target with this id"}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No article, or no target, with this id"}}


def _target(target: PublishTarget) -> TargetOut:
    return TargetOut.model_validate(
        {**{c: getattr(target, c) for c in TargetOut.model_fields if c not in (
            "category_map", "has_password")},
         "category_map": pairs(target.category_map or {})})


def _publication(publication: Publication) -> PublicationOut:
    return PublicationOut.model_validate(
        {**{c: getattr(publication, c) for c in PublicationOut.model_fields
            if c != "target_name"}, "target_name": publication.target.name})


def _fields(body: TargetPatch) -> targets.TargetFields:
    given = body.model_dump(exclude_none=True, exclude={"category_map"})
    if body.category_map is not None:
        given["category_map"] = {p.category: p.wordpress for p in body.category_map}
    return targets.TargetFields(**given)


@router.post("/api/targets", status_code=status.HTTP_201_CREATED, response_model=TargetOut,
             responses={409: {"description": "The name is taken"}},
             dependencies=[allow(Permission.ADMIN)])
def create_target(body: TargetIn, session: SessionDep, response: Response) -> TargetOut:
    """A WordPress site to publish to. The Application Password is stored, never returned."""
    target = targets.create(session, _fields(body))
    response.headers["Location"] = f"/api/targets/{target.id}"
    return _target(target)


@router.get("/api/targets", response_model=TargetPage, dependencies=[allow(Permission.ADMIN)])
def list_targets(session: SessionDep, limit: int = limit_query(50, 200),
                 offset: int = offset_query()) -> TargetPage:
    rows, total = repository.list_targets(session, limit=limit, offset=offset)
    return TargetPage(items=[_target(t) for t in rows], total=total, limit=limit, offset=offset)


@router.get("/api/targets/{target_id}", response_model=TargetOut, responses=NO_TARGET,
            dependencies=[allow(Permission.ADMIN)])
def get_target(target_id: TargetId, session: SessionDep) -> TargetOut:
    return _target(targets.get_or_404(session, target_id))


@router.patch("/api/targets/{target_id}", response_model=TargetOut,
              responses={**NO_TARGET, 409: {"description": "The name is taken"}},
              dependencies=[allow(Permission.ADMIN)])
def update_target(target_id: TargetId, body: TargetPatch, session: SessionDep) -> TargetOut:
    return _target(targets.update(session, target_id, _fields(body)))


@router.delete("/api/targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=NO_TARGET, dependencies=[allow(Permission.ADMIN)])
def delete_target(target_id: TargetId, session: SessionDep) -> Response:
    """Forget the target and its publications; the posts stay on the site."""
    targets.delete(session, target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/targets/{target_id}/test", response_model=ConnectionOut,
             responses=NO_TARGET, dependencies=[allow(Permission.ADMIN)])
def test_target(target_id: TargetId, session: SessionDep) -> ConnectionOut:
    """Sign in to the site (`GET /wp-json/wp/v2/users/me`) and name what is wrong: a bad
    password, the REST API disabled or blocked, plain permalinks (then `?rest_route=` is used
    from now on), no HTTPS, a user who may not publish."""
    report = connection.test(session, target_id)
    return ConnectionOut(ok=report.ok, problems=[asdict(p) for p in report.problems],
                         user=report.user, can_publish=report.can_publish,
                         permalinks=report.permalinks, seo=report.seo)


@router.post("/api/articles/{article_id:int}/publish-to/{target_id}", status_code=202,
             response_model=PublicationOut, responses=NOT_FOUND,
             dependencies=[allow(Permission.PUBLISH)])
def publish_to(article_id: ArticleId, target_id: TargetId, session: SessionDep,
               response: Response, body: PublishIn | None = None) -> PublicationOut:
    """Queue the article's send to the target: created there once, updated after that."""
    body = body or PublishIn()
    publication = service.request_publish(session, article_id, target_id, status=body.status,
                                          date_gmt=body.date_gmt)
    response.headers["Location"] = f"/api/publications/{publication.id}"
    return _publication(publication)


@router.post("/api/articles/{article_id:int}/unpublish-from/{target_id}", status_code=202,
             response_model=PublicationOut,
             responses={**NOT_FOUND, 409: {"description": "No post on this target"}},
             dependencies=[allow(Permission.PUBLISH)])
def unpublish_from(article_id: ArticleId, target_id: TargetId, session: SessionDep,
                   response: Response) -> PublicationOut:
    """Move the post to draft or to the trash (the target's `unpublish_action`)."""
    publication = service.request_unpublish(session, article_id, target_id)
    response.headers["Location"] = f"/api/publications/{publication.id}"
    return _publication(publication)


@router.get("/api/publications/{publication_id}", response_model=PublicationOut,
            responses={404: {"description": "No publication with this id"}},
            dependencies=[allow(Permission.READ)])
def get_publication(publication_id: PublicationId, session: SessionDep) -> PublicationOut:
    """One article on one target: state, remote URL, last error, attempts."""
    return _publication(service.get_or_404(session, publication_id))


@router.get("/api/articles/{article_id:int}/publications", response_model=PublicationList,
            responses={404: {"description": "No article with this id"}},
            dependencies=[allow(Permission.READ)])
def list_publications(article_id: ArticleId, session: SessionDep) -> PublicationList:
    """The article on every target: state, remote URL, last error, attempts."""
    return PublicationList(items=[_publication(p)
                                  for p in service.publications(session, article_id)])
