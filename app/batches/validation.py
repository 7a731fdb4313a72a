"""Checks on what an editor submits; run once, here, for the API, schedules and the plan's
`delay()` call alike. Each refusal names the field at fault."""

from __future__ import annotations

import hashlib
import json
import math
import re

from app.batches.enums import BatchMode, Priority
from app.batches.errors import BatchError
from app.config import get_settings
from app.core.text import NOT_UNICODE, has_surrogate
from app.llm.language import (
    AUTO,
    DEFAULT_LANGUAGE,
    language_confidence,
    normalize_language,
    resolve_language,
    uses_characters,
    warm_up,
)

# A category: a short slug, case folded, surrounding (ASCII) spaces dropped. The schema states
# CATEGORY_PATTERN; the domain applies exactly it, then folds the case.
CATEGORY_SLUG = "[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
CATEGORY_PATTERN = f"^ *{CATEGORY_SLUG} *$"
CATEGORY_MAX_LENGTH = 200
_CATEGORY_RE = re.compile(CATEGORY_SLUG)

# A title or a name is one line of text: no C0/C1 control characters (tabs and newlines
# included), not only spaces, no unpaired surrogates. Runs of spaces are folded to one.
CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
# What str.split() folds once control characters are refused: the Unicode spaces.
SPACES = " \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
LINE_PATTERN = f"^[^{CONTROL}]*[^{CONTROL}{SPACES}][^{CONTROL}]*$"
_CONTROL_RE = re.compile(f"[{CONTROL}]")

# Idempotency-Key: printable ASCII without spaces (a UUID, a hash, "order-1234").
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_KEY_PATTERN = f"^[!-~]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}$"
_IDEMPOTENCY_KEY_RE = re.compile("[!-~]+")


def line_problem(value: object, max_length: int) -> str | None:
    """Why `value` is not one line of text of 1..max_length characters, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not value.split():
        return "must not be blank"
    if len(value) > max_length:
        return f"at most {max_length} characters, got {len(value)}"
    if _CONTROL_RE.search(value):
        return "must not contain control characters (tabs and line breaks included)"
    if has_surrogate(value):
        return NOT_UNICODE
    return None


def fold_spaces(value: str) -> str:
    return " ".join(value.split())


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
        problem = line_problem(title, settings.max_title_length)
        if problem is not None:
            raise BatchError.invalid(f"{field}[{i}]", problem)
        cleaned.append(fold_spaces(title))
    return cleaned


def clean_category(category: object) -> str:
    raw = category if isinstance(category, str) else ""
    value = raw.strip(" ")
    if len(raw) > CATEGORY_MAX_LENGTH or not _CATEGORY_RE.fullmatch(value):
        raise BatchError.invalid(
            "category",
            "must be a short slug: 1-64 characters of a-z, 0-9, '-' or '_', starting with a "
            "letter or digit",
        )
    return value.lower()


def clean_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not _IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise BatchError.invalid(
            "idempotency-key",
            f"1-{IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters without spaces",
        )
    return key


MAX_COST_USD = 1_000_000.0  # a typo guard, not a policy: caps above this are refused


def clean_mode(mode: object) -> BatchMode:
    """realtime (the default) or batch (the provider's Batch API)."""
    if mode is None:
        return BatchMode.REALTIME
    value = mode.strip().lower() if isinstance(mode, str) else ""
    if value not in set(BatchMode):
        raise BatchError.invalid("mode", f"must be one of {', '.join(BatchMode)}, got {mode!r}")
    return BatchMode(value)


def clean_max_cost(value: object, field: str = "max_cost_usd") -> float | None:
    """A batch's own spend cap in USD: None (no cap) or a positive number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BatchError.invalid(field, "must be a number of US dollars, or null for no cap")
    if not math.isfinite(value) or value <= 0 or value > MAX_COST_USD:
        raise BatchError.invalid(field, f"must be above 0 and at most {MAX_COST_USD:,.0f}, "
                                 f"got {value}")
    return float(value)


def clean_priority(priority: object, field: str = "priority") -> Priority:
    """high, normal (the default: None) or low; surrounding spaces and case are ignored."""
    if priority is None:
        return Priority.NORMAL
    value = priority.strip().lower() if isinstance(priority, str) else ""
    if value not in set(Priority):
        raise BatchError.invalid(field, f"must be one of {', '.join(Priority)}, got {priority!r}")
    return Priority(value)


# An owner: an editor's name or a team ("alice", "编辑部"), the group the fair scheduler shares
# slots by (app/batches/scheduling/fairness.py). One line without control characters; surrounding
# spaces
# are trimmed and runs of spaces folded, so " Alice  B " and "Alice B" are one owner. Blank
# means no owner. The schema states OWNER_PATTERN and OWNER_MAX_LENGTH as the domain applies them.
OWNER_MAX_LENGTH = 100
OWNER_PATTERN = f"^[^{CONTROL}]*$"


def clean_owner(owner: object, field: str = "owner") -> str | None:
    """The owner as stored: trimmed and folded, or None for none (None, "" or only spaces)."""
    if owner is None:
        return None
    if not isinstance(owner, str):
        raise BatchError.invalid(field, "must be a string (an editor's name or a team), or null")
    if len(owner) > OWNER_MAX_LENGTH:
        raise BatchError.invalid(field, f"at most {OWNER_MAX_LENGTH} characters, got {len(owner)}")
    if _CONTROL_RE.search(owner):
        raise BatchError.invalid(
            field, "must be one line without control characters (tabs and line breaks included)")
    if has_surrogate(owner):
        raise BatchError.invalid(field, NOT_UNICODE)
    return fold_spaces(owner) or None


# A short Latin-script title that lingua reads as another language ("Title 1" as Turkish)
# while giving English at least this confidence (0..1) is written in English: only a clear
# other language ("Wie man eine Krypto-Börse auswählt": English 0.0) wins over it.
PLAUSIBLY_DEFAULT = 0.15


def clean_language(language: object, field: str = "language") -> str:
    """A BCP 47 tag in canonical case, or "auto"; None or blank means ARTICLE_LANGUAGE."""
    if isinstance(language, str) and len(language) > 35:  # the schema's bound, spaces included
        raise BatchError.invalid(field, f"at most 35 characters, got {len(language)}")
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


FINGERPRINT_VERSION = "2:"


def fingerprint(titles: list[str], category: str, *, language: str | None = None,
                mode: str = BatchMode.REALTIME, max_cost_usd: float | None = None,
                priority: str = Priority.NORMAL, owner: str | None = None) -> str:
    """What an Idempotency-Key promises: the same request, every field cleaned (so `" Guide "`
    and `guide` are the same). `language` is the one the request asked for (None: not given),
    not the ARTICLE_LANGUAGE it resolved to, so a replay after that setting changed still
    matches."""
    fields = {"titles": titles, "category": category, "language": language, "mode": str(mode),
              "max_cost_usd": max_cost_usd, "priority": str(priority), "owner": owner}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode())
    return FINGERPRINT_VERSION + digest.hexdigest()


def legacy_fingerprint(titles: list[str], category: str) -> str:
    """The fingerprint of batches stored before FINGERPRINT_VERSION: titles and category only
    (such a batch can only be compared on what it recorded)."""
    return hashlib.sha256(json.dumps([titles, category]).encode()).hexdigest()
