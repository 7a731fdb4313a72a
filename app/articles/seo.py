"""An article's SEO fields: read from the model's answer, checked, or derived. Pure: no SQL.

The prompt (app/llm/prompt.py) asks the model to begin its answer with a front-matter block:

    ---
    seo_title: ...
    meta_description: ...
    slug: ...
    excerpt: ...
    tags: [..., ...]
    ---
    # The article's title
    ...

`split` takes the block off the Markdown (the stored content never holds it) and `fields`
checks each value. A missing or invalid one is derived, never a failure: the slug from the title
(pinyin for Chinese: pypinyin reads polyphones in context), the meta description and the
excerpt from the first paragraph, cut at a word (or, for Chinese, a character) boundary, the SEO
title from the title, the tags from the category. Each derived field is named in the flags
(`seo.<field>`, kept in the article's `seo_flags`), so an editor sees what the model did not give.

The slug's uniqueness within a language is the database's (app/articles/service.py chooses a
free one with a suffix: -2, -3 ...).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import yaml
from pypinyin import lazy_pinyin
from slugify import slugify

from app.articles.prose import prose
from app.core.text import has_surrogate
from app.llm.language import uses_characters

MAX_SLUG = 200
SLUG_WORDS = 80  # a derived slug's length: the column allows more for an editor's own
MAX_SEO_TITLE = 200
MAX_META = 400
MAX_EXCERPT = 2000
MAX_TAGS = 10
MAX_TAG = 50
FALLBACK_SLUG = "article"
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG = re.compile(SLUG_PATTERN)
# The recommended length of a meta description (what search engines show), in characters.
META_TARGET = {"words": (150, 160), "characters": (70, 80)}
EXCERPT_TARGET = {"words": 300, "characters": 150}
_BLOCK = re.compile(r"\A\s*(?:```[a-z]*\s*\n)?---[ \t]*\n(.*?)\n---[ \t]*\n(?:```[ \t]*\n)?",
                    re.S)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_TABLE_OR_LIST = re.compile(r"^\s*(?:\||[-*+]\s|\d+[.)]\s|>)")
# Where a Chinese sentence may be cut: after its punctuation.
_CJK_STOPS = "。！？；，、：”」』）"


class _PlainYaml(yaml.SafeLoader):
    """safe_load without aliases: the block is a model's output, which a title could steer,
    and nested aliases expand exponentially (the "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not accepted in the front matter")
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class SeoFields:
    slug: str
    seo_title: str
    meta_description: str
    excerpt: str
    tags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split(answer: str) -> tuple[dict[str, Any], str]:
    """(the front matter's mapping, the Markdown after it); ({}, answer) without a block or
    with one that is not a YAML mapping."""
    match = _BLOCK.match(answer or "")
    if match is None:
        return {}, answer
    try:
        data = yaml.load(match.group(1), Loader=_PlainYaml)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError:
        return {}, answer[match.end():].lstrip("\n")
    body = answer[match.end():].lstrip("\n")
    return (data if isinstance(data, dict) else {}), body


def body_of(answer: str) -> str:
    """The answer's Markdown without its front-matter block (what quality checks read): the
    block is cut off by its delimiters alone, as `split` cuts it whatever its YAML says, so the
    quality gate does not parse the YAML a second time (`store_generation` parses it)."""
    match = _BLOCK.match(answer or "")
    return answer if match is None else answer[match.end():].lstrip("\n")


def _one_line(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > limit or has_surrogate(text):
        return None
    if any(unicodedata.category(c) == "Cc" for c in text):
        return None
    return text


def check_slug(value: object) -> str | None:
    """The slug if it is one: ASCII lower case letters and digits in `-`-joined words."""
    if isinstance(value, str) and len(value) <= MAX_SLUG and _SLUG.match(value):
        return value
    return None


def check_tags(value: object) -> list[str] | None:
    """Up to MAX_TAGS distinct one-line tags of up to MAX_TAG characters, or None."""
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        return None
    tags: list[str] = []
    for item in value:
        tag = _one_line(item, MAX_TAG)
        if tag is None:
            return None
        if tag not in tags:
            tags.append(tag)
    return tags


def slug_from(title: str) -> str:
    """An ASCII slug for a title: pinyin for Han characters, text-unidecode for the rest."""
    text = unicodedata.normalize("NFKC", title or "")
    slug = slugify(" ".join(lazy_pinyin(text)), max_length=SLUG_WORDS, word_boundary=True)
    return slug or FALLBACK_SLUG


def first_paragraph(markdown: str) -> str:
    """The first paragraph of prose: not a heading, a table, a list or a quote."""
    for block in re.split(r"\n\s*\n", prose(markdown)):
        lines = [line for line in block.strip().splitlines()
                 if not _HEADING.match(line) and not _TABLE_OR_LIST.match(line)]
        text = " ".join(" ".join(lines).split())
        if text:
            return text.replace("**", "").replace("__", "")
    return ""


def cut(text: str, limit: int, *, characters: bool) -> str:
    """`text` within `limit` characters, cut at a word boundary (Latin script) or after a
    punctuation mark or any character (Chinese), with an ellipsis when it was cut."""
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    if characters:
        stop = max(room.rfind(c) for c in _CJK_STOPS)
        if stop >= limit // 2:
            head = room[: stop + 1]
            # A sentence's end stays; a clause mark (，、；：) would dangle: an ellipsis instead.
            return head if head[-1] in "。！？!?" else head[:-1] + "…"
        return room + "…"
    space = room.rfind(" ")
    head = room[:space] if space >= limit // 2 else room
    return head.rstrip(" ,;:.-") + "…"


def _unit(language: str | None) -> str:
    return "characters" if uses_characters(language or "en") else "words"


def derive_meta(markdown: str, language: str | None) -> str:
    _low, high = META_TARGET[_unit(language)]
    return cut(first_paragraph(markdown), high, characters=_unit(language) == "characters")


def derive_excerpt(markdown: str, language: str | None) -> str:
    unit = _unit(language)
    return cut(first_paragraph(markdown), EXCERPT_TARGET[unit], characters=unit == "characters")


def fields(given: dict[str, Any], *, title: str, content: str, language: str | None,
           category: str) -> tuple[SeoFields, list[dict[str, str]]]:
    """Each field from `given` when valid, else derived; and the flags naming the derived."""
    flags: list[dict[str, str]] = []

    def pick(name: str, value: Any, derived: Any) -> Any:
        if value is None:
            flags.append({"name": f"seo.{name}",
                          "message": f"{name}: derived (the answer gave none that is valid)"})
            return derived
        return value

    meta = _one_line(given.get("meta_description"), MAX_META)
    excerpt = given.get("excerpt")
    excerpt = excerpt.strip() if isinstance(excerpt, str) and len(excerpt) <= MAX_EXCERPT else None
    derived_title = cut(" ".join(title.split()), MAX_SEO_TITLE, characters=True)
    return SeoFields(
        slug=pick("slug", check_slug(given.get("slug")), slug_from(title)),
        seo_title=pick("seo_title", _one_line(given.get("seo_title"), MAX_SEO_TITLE),
                       derived_title),
        meta_description=pick("meta_description", meta, derive_meta(content, language)),
        excerpt=pick("excerpt", excerpt or None, derive_excerpt(content, language)),
        tags=pick("tags", check_tags(given.get("tags")), [category][:MAX_TAGS]),
    ), flags
