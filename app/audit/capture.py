"""What one request is, for the audit trail: who, what, which object, what changed.

Pure functions of the ASGI scope, the request body and the answer's status and headers
(app.audit.middleware gathers them). Field values that look secret are never kept: a field
whose name says password/token/secret/key is recorded by name only, and every value kept
passes through the log's masking (app.core.logs.mask_secrets).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.accounts.principal import Principal
from app.audit.models import (
    ACTION_MAX,
    ACTOR_MAX,
    OBJECT_ID_MAX,
    OBJECT_TYPE_MAX,
    PATH_MAX,
    USER_AGENT_MAX,
    AuditEntry,
)
from app.core.logs import mask_secrets

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A body larger than this is not parsed for its field names (its size is still noted).
MAX_PARSED_BODY = 256 * 1024
# Values longer than this (an article's content, a list of titles) are recorded by name only.
MAX_VALUE_LENGTH = 80
MAX_FIELDS = 40
_SECRET_NAME = re.compile(r"pass|token|secret|key|credential|auth|cookie", re.IGNORECASE)
_VERSION = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')
# Path parameters whose name does not say what they point at.
_PARAM_TYPES = {"task_id": "batch", "article_id": "article", "item_id": "item",
                "schedule_id": "schedule", "profile_id": "profile", "category": "profile",
                "user_name": "user", "name": None, "id": None}
_SEGMENT_TYPES = {"tasks": "batch", "articles": "article", "profiles": "profile",
                  "schedules": "schedule", "users": "user", "tokens": "token",
                  "webhooks": "webhook", "targets": "target", "limits": "user"}


def is_audited(scope: dict[str, Any]) -> bool:
    return (scope["type"] == "http" and scope.get("method") in AUDITED_METHODS
            and str(scope.get("path", "")).startswith("/api/"))


@dataclass
class Answer:
    """What the app answered (500 until it says otherwise: it raised before answering)."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Who:
    actor: str
    via: str
    user_id: int | None = None
    token_prefix: str | None = None

    @classmethod
    def of(cls, principal: Principal | None, attempted: str | None) -> Who:
        """The acting principal; without one, the name tried (a failed login) or anonymous."""
        if principal is None:
            return cls(actor=_cut(attempted or "anonymous", ACTOR_MAX), via="anonymous")
        prefix = principal.token_prefix or ("session" if principal.via == "session" else None)
        return cls(actor=_cut(principal.name, ACTOR_MAX), via=principal.via,
                   user_id=principal.user_id, token_prefix=prefix)


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _singular(segment: str) -> str:
    return _SEGMENT_TYPES.get(segment, segment.removesuffix("s"))


def route_of(scope: dict[str, Any]) -> tuple[str, str]:
    """The route's name (the action) and its template; the raw path when nothing matched."""
    route = scope.get("route")
    name = getattr(route, "name", None)
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    path = str(template or scope.get("path", ""))
    return _cut(str(name or "unmatched"), ACTION_MAX), _cut(path, PATH_MAX)


def object_of(scope: dict[str, Any], path: str, answer: Answer) -> tuple[str | None, str | None]:
    """(type, id) of what the request acted on: its first path parameter, or for a create
    the id in the answer's Location header."""
    params: dict[str, Any] = scope.get("path_params") or {}
    segments = [s for s in path.split("/") if s and s != "api"]
    for param, value in params.items():
        kind = _PARAM_TYPES.get(param, param.removesuffix("_id"))
        if kind is None:  # /api/profiles/{name}: the segment before the parameter says
            placeholder = next((i for i, s in enumerate(segments) if s.startswith(f"{{{param}")),
                               0)
            kind = _singular(segments[placeholder - 1]) if placeholder else param
        return _cut(kind, OBJECT_TYPE_MAX), _cut(str(value), OBJECT_ID_MAX)
    if not segments:
        return None, None
    kind = _cut(_singular(segments[0]), OBJECT_TYPE_MAX)
    created = _created_id(answer.headers.get("location"), segments[0])
    return kind, _cut(created, OBJECT_ID_MAX) if created else None


def _created_id(location: str | None, collection: str) -> str | None:
    """The id in a create's Location: the segment after the collection's
    (/api/tasks/<id>/status), else the last one."""
    if not location:
        return None
    parts = [s for s in urlsplit(location).path.split("/") if s and s != "api"]
    if len(parts) >= 2 and parts[0] == collection:
        return parts[1]
    return parts[-1] if parts else None


def _version(value: str | None) -> int | None:
    match = _VERSION.match(value or "")
    return int(match.group(1)) if match else None


def _kept(name: str, value: Any) -> Any:
    """A field's value as recorded, or ... when only its name is."""
    if _SECRET_NAME.search(name):
        return ...
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str) and len(value) <= MAX_VALUE_LENGTH:
        return mask_secrets(value)
    return ...


def changes_of(headers: dict[str, str], body: bytes, body_size: int,
               answer: Answer) -> dict[str, Any]:
    """The fields sent (their values when short and not secret) and the versions before
    (If-Match, or the body's `version`) and after (the answer's ETag)."""
    changes: dict[str, Any] = {}
    sent: Any = None
    if body and body_size <= MAX_PARSED_BODY and "json" in headers.get("content-type", ""):
        try:
            sent = json.loads(body)
        except (ValueError, RecursionError):
            sent = None
    if isinstance(sent, dict):
        names = [str(k) for k in list(sent)[:MAX_FIELDS]]
        changes["fields"] = names
        values = {n: _kept(n, sent[n]) for n in names}
        values = {n: v for n, v in values.items() if v is not ...}
        if values:
            changes["values"] = values
    elif body_size:
        changes["body_bytes"] = body_size
    before = _version(headers.get("if-match"))
    if before is None and isinstance(sent, dict) and isinstance(sent.get("version"), int):
        before = sent["version"]
    after = _version(answer.headers.get("etag"))
    if before is not None:
        changes["version_before"] = before
    if after is not None:
        changes["version_after"] = after
    return changes


def client_of(scope: dict[str, Any], headers: dict[str, str]) -> tuple[str | None, str | None]:
    client = scope.get("client")
    address = str(client[0])[:64] if client else None
    agent = headers.get("user-agent")
    return address, (_cut(mask_secrets(agent), USER_AGENT_MAX) if agent else None)


def header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers by lower-case name (latin-1, as HTTP sends them)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


def entry_of(scope: dict[str, Any], headers: dict[str, str], body: bytes, size: int,
             answer: Answer, who: Who) -> AuditEntry:
    action, path = route_of(scope)
    object_type, object_id = object_of(scope, path, answer)
    address, agent = client_of(scope, headers)
    return AuditEntry(
        actor=who.actor, user_id=who.user_id, via=who.via, token_prefix=who.token_prefix,
        action=action, method=str(scope.get("method", ""))[:8], path=path,
        object_type=object_type, object_id=object_id,
        changes=changes_of(headers, body, size, answer), status=answer.status,
        client=address, user_agent=agent)
