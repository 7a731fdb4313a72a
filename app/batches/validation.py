"""Checks on what an editor submits; run once, here, for the API, schedules and the plan's
`delay()` call alike. Each refusal names the field at fault."""

from __future__ import annotations

import hashlib
import json
import re

from app.batches.errors import BatchError
from app.config import get_settings
from app.llm.language import (
    AUTO,
    DEFAULT_LANGUAGE,
    language_confidence,
    normalize_language,
    resolve_language,
    uses_characters,
    warm_up,
)

CATEGORY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CATEGORY_PATTERN = CATEGORY_RE.pattern


def clean_titles(titles: object, field: str = "titles") -> list[str]:
    settings = get_settings()
    if not isinstance(titles, list) or not titles:
        raise BatchError.invalid(field, "at least one title is required")
    if len(titles) > settings.max_titles_per_batch:
        raise BatchError.invalid(
            field, f"at most {settings.max_titles_per_batch} titles per batch, got {len(titles)}"
        )
    cleaned = []
    for i, title in enumerate(titles):
        name = f"{field}[{i}]"
        if not isinstance(title, str):
            raise BatchError.invalid(name, "must be a string")
        title = " ".join(title.split())
        if not title:
            raise BatchError.invalid(name, "must not be blank")
        if len(title) > settings.max_title_length:
            raise BatchError.invalid(
                name, f"at most {settings.max_title_length} characters, got {len(title)}"
            )
        if any(ord(c) < 32 for c in title):
            raise BatchError.invalid(name, "must not contain control characters")
        cleaned.append(title)
    return cleaned


def clean_category(category: object) -> str:
    value = category.strip().lower() if isinstance(category, str) else ""
    if not CATEGORY_RE.match(value):
        raise BatchError.invalid(
            "category",
            "must be a short slug: 1-64 characters of a-z, 0-9, '-' or '_', starting with a "
            "letter or digit",
        )
    return value


# A short Latin-script title that lingua reads as another language ("Title 1" as Turkish)
# while giving English at least this confidence (0..1) is written in English: only a clear
# other language ("Wie man eine Krypto-Börse auswählt": English 0.0) wins over it.
PLAUSIBLY_DEFAULT = 0.15


def clean_language(language: object, field: str = "language") -> str:
    """A BCP 47 tag in canonical case, or "auto"; None or blank means ARTICLE_LANGUAGE."""
    if language is None or (isinstance(language, str) and not language.strip()):
        language = get_settings().article_language
    try:
        return normalize_language(language)  # type: ignore[arg-type]
    except ValueError as exc:
        raise BatchError.invalid(field, str(exc)) from None


def item_language(language: str, title: str) -> str:
    """The tag one title is written in: the batch's, or for "auto" the title's own language
    (Unicode script for CJK, lingua otherwise), resolved once, when the batch is stored, so
    workers never load the slow detector."""
    if language != AUTO:
        return language
    tag = resolve_language(AUTO, title, DEFAULT_LANGUAGE)
    if tag != DEFAULT_LANGUAGE and not uses_characters(tag):
        confidence = language_confidence(title, DEFAULT_LANGUAGE)
        if confidence is not None and confidence >= PLAUSIBLY_DEFAULT:
            return DEFAULT_LANGUAGE
    return tag


def warm_up_detector() -> None:
    """With ARTICLE_LANGUAGE=auto, load the title detector now (the API's start-up): it takes
    about 3 s and 250 MB, which the first batch would otherwise wait for."""
    if get_settings().article_language.lower() == AUTO:
        warm_up(accurate=True)


def fingerprint(titles: list[str], category: str) -> str:
    """What an Idempotency-Key promises: the same titles in the same category."""
    return hashlib.sha256(json.dumps([titles, category]).encode()).hexdigest()
