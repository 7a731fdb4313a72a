"""Category profiles: the built-in defaults (app/profiles/defaults.py) answer for a category
until a stored row overrides them; a category with neither uses the `default` profile.

A stored profile has a version: created at 1, bumped by every change, and recorded with each
article it writes (profile_id, profile_version) so an article can be traced to its prompt. The
built-in defaults report version 0 and no id. Nothing here commits.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.models import utcnow
from app.core.text import NOT_UNICODE, has_surrogate
from app.profiles import repository
from app.profiles.defaults import DEFAULT_PROFILE, DEFAULT_PROFILES, ProfileSpec
from app.profiles.errors import ProfileError
from app.profiles.models import CategoryProfile

log = logging.getLogger(__name__)

# The batch category rule (app/batches/validation.py), which sits above this layer.
CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
MAX_INSTRUCTIONS = 4000
# Inclusive bounds of the numeric fields.
BOUNDS: dict[str, tuple[float, float]] = {
    "min_words": (50, 10_000), "max_words": (50, 10_000),
    "min_chars": (50, 20_000), "max_chars": (50, 20_000),
    "min_sections": (0, 20),
    "duplicate_threshold": (0.2, 1.0),
    "temperature": (0.0, 2.0),
}
FIELDS = ("instructions", "min_words", "max_words", "min_chars", "max_chars", "min_sections",
          "duplicate_threshold", "model", "temperature")
_INTEGERS = frozenset({"min_words", "max_words", "min_chars", "max_chars", "min_sections"})
_NULLABLE = frozenset({"model", "temperature"})  # None: the configured LLM settings


@dataclass(frozen=True)
class Profile:
    """The profile that writes and checks one category's articles."""

    category: str  # whose profile it is: the category's own, or "default"
    spec: ProfileSpec
    id: int | None = None  # None: a built-in default, not stored
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def builtin(self) -> bool:
        return self.id is None

    def as_dict(self) -> dict[str, Any]:
        values = {name: getattr(self.spec, name) for name in FIELDS}
        return {"category": self.category, "builtin": self.builtin, "id": self.id,
                "version": self.version, **values, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _spec(row: CategoryProfile) -> ProfileSpec:
    return ProfileSpec(name=row.category, **{name: getattr(row, name) for name in FIELDS})


def _stored(row: CategoryProfile) -> Profile:
    return Profile(row.category, _spec(row), row.id, row.version, row.created_at,
                   row.updated_at)


def _builtin(name: str) -> Profile:
    return Profile(name, DEFAULT_PROFILES[name])


def clean_category(category: object) -> str:
    if isinstance(category, str) and len(category) > 200:  # the schema's bound, spaces included
        raise ProfileError.invalid("category", f"at most 200 characters, got {len(category)}")
    value = category.strip().lower() if isinstance(category, str) else ""
    if not CATEGORY_RE.match(value):
        raise ProfileError.invalid(
            "category", "must be a short slug: 1-64 characters of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit")
    return value


def effective(session: Session, category: str) -> Profile:
    """What writes `category`'s articles: its stored profile, else its built-in default, else
    the stored `default` profile, else the built-in `default` (one query)."""
    key = category.strip().lower()
    rows = repository.get_many(session, {key, DEFAULT_PROFILE})
    if key in rows:
        return _stored(rows[key])
    if key in DEFAULT_PROFILES:
        return _builtin(key)
    if DEFAULT_PROFILE in rows:
        return _stored(rows[DEFAULT_PROFILE])
    return _builtin(DEFAULT_PROFILE)


def get(session: Session, category: object) -> Profile:
    """The profile `category` uses (an unknown category answers with the default profile)."""
    return effective(session, clean_category(category))


def list_profiles(session: Session) -> list[Profile]:
    """Every stored profile and every built-in default no row overrides, by category."""
    stored = {row.category: _stored(row) for row in repository.list_all(session)}
    builtins = {name: _builtin(name) for name in DEFAULT_PROFILES if name not in stored}
    merged = {**builtins, **stored}
    return [merged[name] for name in sorted(merged)]


def _value(name: str, value: Any) -> Any:
    """One field, checked against its type and bounds; ProfileError names it."""
    if value is None:
        if name in _NULLABLE:
            return None
        raise ProfileError.invalid(name, "must not be null")
    if name == "instructions":
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise ProfileError.invalid(name, "must be a non-empty string")
        if len(text) > MAX_INSTRUCTIONS:
            raise ProfileError.invalid(name, f"at most {MAX_INSTRUCTIONS} characters, got "
                                       f"{len(text)}")
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise ProfileError.invalid(name, "must not contain control characters")
        if has_surrogate(text):
            raise ProfileError.invalid(name, NOT_UNICODE)
        return text
    if name == "model":
        if not isinstance(value, str) or not MODEL_RE.match(value.strip()):
            raise ProfileError.invalid(name, "must be a model name such as gpt-4o-mini (up to "
                                       "128 characters, no spaces), or null for OPENAI_MODEL")
        return value.strip()
    low, high = BOUNDS[name]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or (name in _INTEGERS and not float(value).is_integer()):
        kind = "a whole number" if name in _INTEGERS else "a number"
        raise ProfileError.invalid(name, f"must be {kind}")
    if not low <= value <= high:
        raise ProfileError.invalid(name, f"must be between {low:g} and {high:g}, got {value}")
    return int(value) if name in _INTEGERS else float(value)


def validated(base: ProfileSpec, category: str, changes: dict[str, Any]) -> ProfileSpec:
    """`base` with `changes` applied, each field checked; ProfileError names the bad one."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ProfileError.invalid(unknown[0], "not a profile field")
    values = {name: _value(name, value) for name, value in changes.items()}
    merged = {f.name: getattr(base, f.name) for f in fields(ProfileSpec)} | values
    for low, high in (("min_words", "max_words"), ("min_chars", "max_chars")):
        if merged[low] > merged[high]:
            field = low if low in values else high
            raise ProfileError.invalid(field, f"{low} ({merged[low]}) must not be above "
                                       f"{high} ({merged[high]})")
    return replace(base, **{**merged, "name": category})


def create(session: Session, category: object, changes: dict[str, Any]) -> Profile:
    """Store a profile for `category`, starting from the one it uses now (409 if stored)."""
    key = clean_category(category)
    if repository.get(session, key) is not None:
        raise ProfileError.conflict("category", f"category {key!r} already has a stored "
                                    "profile: change it with PATCH /api/profiles/{category}")
    return _insert(session, key, validated(effective(session, key).spec, key, changes))


def update(session: Session, category: object, changes: dict[str, Any]) -> Profile:
    """Change a category's profile and bump its version. A category without a stored profile
    gets one, from the profile it used so far (a built-in default: version 0 becomes 1)."""
    key = clean_category(category)
    if not changes:
        raise ProfileError.invalid("body", f"name at least one field to change: "
                                   f"{', '.join(FIELDS)}")
    row = repository.get(session, key, for_update=True)
    if row is None:
        return _insert(session, key, validated(effective(session, key).spec, key, changes))
    spec = validated(_spec(row), key, changes)
    for name in FIELDS:
        setattr(row, name, getattr(spec, name))
    row.version += 1
    row.updated_at = utcnow()
    session.flush()
    log.info("profile %s changed: version %s", key, row.version)
    return _stored(row)


def delete(session: Session, category: object) -> None:
    """Forget a stored profile; the built-in (or default) profile answers again."""
    key = clean_category(category)
    row = repository.get(session, key)
    if row is None:
        raise ProfileError.not_found("category", f"category {key!r} has no stored profile")
    session.delete(row)
    session.flush()
    log.info("profile %s deleted", key)


def _insert(session: Session, category: str, spec: ProfileSpec) -> Profile:
    now = utcnow()
    row = CategoryProfile(category=category, version=1, created_at=now, updated_at=now,
                          **{name: getattr(spec, name) for name in FIELDS})
    try:
        with session.begin_nested():  # a concurrent insert of the same category fails only this
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ProfileError.conflict("category", f"category {category!r} got a stored profile "
                                    "meanwhile; try again") from None
    log.info("profile %s stored (version 1)", category)
    return _stored(row)
