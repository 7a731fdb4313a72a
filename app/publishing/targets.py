"""Publishing targets: the WordPress sites an admin configures (the password is kept, never
shown), checked once here so every caller stores only what can work."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.batches.validation import LINE_PATTERN
from app.core.text import NOT_UNICODE, has_surrogate
from app.publishing import repository
from app.publishing.enums import AutoPublish, PostStatus, UnpublishAction
from app.publishing.errors import PublishingError, TargetNameTaken, TargetNotFound
from app.publishing.models import PublishTarget
from app.publishing.wordpress import Site

MAX_CATEGORIES = 200
# http(s), a host name or address, an optional port and path: nothing a URL parser reads
# differently (no user info, query or fragment: the user and password are fields of their own).
URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::[0-9]{1,5})?"
               r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$")
_URL = re.compile(URL_PATTERN)
_LINE = re.compile(LINE_PATTERN)


@dataclass(frozen=True)
class TargetFields:
    """A target's settings as given; None leaves a field as it is (or its default)."""

    name: str | None = None
    base_url: str | None = None
    username: str | None = None
    app_password: str | None = None
    default_status: str | None = None
    category_map: dict[str, str] | None = None
    unpublish_action: str | None = None
    auto_publish: str | None = None
    require_https: bool | None = None

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


def is_loopback(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def site_of(target: PublishTarget) -> Site:
    return Site(target.base_url, target.username, target.app_password,
                rest_route=target.rest_route_fallback)


def _base_url(value: str) -> str:
    if not _URL.match(value):
        raise PublishingError("base_url", "must be the site's http:// or https:// address: a "
                              "host name, an optional port and path; no user, query or fragment")
    parts = urlsplit(value)
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path}".rstrip("/")


def _text(field: str, value: str) -> str:
    if has_surrogate(value):
        raise PublishingError(field, NOT_UNICODE)
    if not _LINE.match(value):
        raise PublishingError(field, "must be one line, not blank, without control characters")
    return value.strip()


def _category_map(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_CATEGORIES:
        raise PublishingError("category_map", f"at most {MAX_CATEGORIES} categories")
    return {_text("category_map", k).lower(): _text(f"category_map.{k}", v)
            for k, v in value.items()}


def _checked(given: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, Callable[[Any], Any]] = {
        "name": lambda v: _text("name", v), "base_url": _base_url,
        "username": lambda v: _text("username", v),
        "app_password": lambda v: _text("app_password", v),
        "default_status": PostStatus, "unpublish_action": UnpublishAction,
        "auto_publish": AutoPublish, "category_map": _category_map}
    try:
        return {key: checks[key](value) if key in checks else value
                for key, value in given.items()}
    except ValueError as exc:  # an enum's own refusal (the schemas refuse first over HTTP)
        raise PublishingError("target", str(exc)) from None


def get_or_404(session: Session, target_id: int) -> PublishTarget:
    target = repository.get_target(session, target_id)
    if target is None:
        raise TargetNotFound(target_id)
    return target


def _store(session: Session, target: PublishTarget) -> PublishTarget:
    try:
        with session.begin_nested():
            session.add(target)
            session.flush()
    except IntegrityError:
        raise TargetNameTaken(target.name) from None
    return target


def create(session: Session, given: TargetFields) -> PublishTarget:
    values = _checked(given.given())
    for required in ("name", "base_url", "username", "app_password"):
        if required not in values:
            raise PublishingError(required, "is required")
    if values.get("require_https") is None:
        values["require_https"] = not is_loopback(values["base_url"])
    return _store(session, PublishTarget(**values))


def update(session: Session, target_id: int, given: TargetFields) -> PublishTarget:
    target = get_or_404(session, target_id)
    values = _checked(given.given())
    if "base_url" in values and values["base_url"] != target.base_url:
        target.rest_route_fallback = False  # the connection test finds it again
    for key, value in values.items():
        setattr(target, key, value)
    return _store(session, target)


def delete(session: Session, target_id: int) -> None:
    """The target and its publications; posts already on the site stay there."""
    session.delete(get_or_404(session, target_id))
    session.flush()
