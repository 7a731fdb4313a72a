"""Category profiles: how each category's articles are written and checked. Thin: the logic is
in app.profiles.service, the commit at the end of the request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.core.auth import SessionDep
from app.profiles import service
from app.profiles.schemas import ProfileIn, ProfileList, ProfileOut, ProfilePatch
from app.profiles.service import CATEGORY_RE

CategoryPath = Annotated[str, Path(min_length=1, max_length=64, pattern=CATEGORY_RE.pattern,
                                   description="A category slug")]

router = APIRouter(prefix="/api/profiles", tags=["profiles"])
# Profiles choose the model a category's articles are written with (and so what they cost):
# only admins change them.
readers, admins = [allow(Permission.READ)], [allow(Permission.ADMIN)]

NOT_STORED: dict[int | str, dict[str, Any]] = {404: {"description": "No stored profile"}}


def _out(profile: service.Profile) -> ProfileOut:
    return ProfileOut(**profile.as_dict())


@router.get("", response_model=ProfileList, dependencies=readers)
def list_profiles(session: SessionDep) -> ProfileList:
    """Every stored profile, and the built-in defaults (guide, review, news, default) that no
    stored profile overrides."""
    items = [_out(p) for p in service.list_profiles(session)]
    return ProfileList(items=items, total=len(items))


@router.get("/{category}", response_model=ProfileOut, dependencies=readers)
def get_profile(category: CategoryPath, session: SessionDep) -> ProfileOut:
    """The profile this category's articles are written with (an unknown category: the
    `default` profile, as its `category` says)."""
    return _out(service.get(session, category))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProfileOut,
             responses={409: {"description": "The category already has a stored profile"}},
             dependencies=admins)
def create_profile(body: ProfileIn, session: SessionDep, response: Response) -> ProfileOut:
    """Store a profile for a category; fields left out come from the profile it uses now."""
    changes = body.model_dump(exclude_unset=True, exclude={"category"})
    profile = service.create(session, body.category, changes)
    response.headers["Location"] = f"/api/profiles/{profile.category}"
    return _out(profile)


@router.patch("/{category}", response_model=ProfileOut, dependencies=admins)
def update_profile(category: CategoryPath, body: ProfilePatch, session: SessionDep) -> ProfileOut:
    """Change fields and bump the version (a category without a stored profile gets one,
    from the profile it used so far)."""
    return _out(service.update(session, category, body.model_dump(exclude_unset=True)))


@router.delete("/{category}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_STORED,
                dependencies=admins)
def delete_profile(category: CategoryPath, session: SessionDep) -> Response:
    """Forget the stored profile: the built-in default (or `default`) answers again."""
    service.delete(session, category)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
