"""What we send for an article: `PostDraft`, built from an Article by `draft_for`, the one
adapter between the articles domain and WordPress's post fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.articles.models import Article
from app.articles.naming import slug_for
from app.articles.prose import prose
from app.articles.render import markdown_to_html
from app.publishing.enums import PostStatus
from app.publishing.models import PublishTarget

EXCERPT_CHARS = 300
SEO_TITLE_CHARS = 60
META_DESCRIPTION_CHARS = 155
_LEADING_H1 = re.compile(r"\A\s*#\s+[^\n]*\n+")
_HEADING = re.compile(r"^#{1,6}\s.*$", re.M)
_TABLE_ROW = re.compile(r"^\s*\|.*$", re.M)
_EMPHASIS = re.compile(r"[*_>#]+")


@dataclass(frozen=True)
class PostDraft:
    title: str
    html: str
    excerpt: str
    slug: str
    status: PostStatus
    date_gmt: datetime | None
    category: str  # the WordPress category's name or slug (the target's mapping)
    tags: tuple[str, ...]
    seo_title: str
    meta_description: str
    article_id: int
    language: str | None


def marker_for(article_id: int, target_key: str) -> str:
    """Set at the top of the post's content: a retry finds our post by it, never by title.
    `target_key` is the target's random key (PublishTarget.key), not its id."""
    return f"<!-- trustagency:article={article_id} target={target_key} -->"


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one is near, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:，。；：") + "…"


def _summary(markdown: str) -> str:
    """The article's opening prose: no headings, tables or Markdown marks."""
    body = _TABLE_ROW.sub(" ", _HEADING.sub(" ", _LEADING_H1.sub("", markdown)))
    return " ".join(_EMPHASIS.sub(" ", prose(body)).split())


@dataclass(frozen=True)
class _Text:
    """The text and SEO fields to send: the live (published) version while an edit of a
    published article waits for review, else the current one."""

    title: str
    content: str
    slug: str | None
    seo_title: str | None
    meta_description: str | None
    excerpt: str | None
    tags: list[str] | None


def _text_of(article: Article) -> _Text:
    live = article.published_version
    if live is not None and live != article.version:
        version = next((v for v in article.versions if v.version == live), None)
        if version is not None:
            return _Text(version.title, version.content, version.slug, version.seo_title,
                         version.meta_description, version.excerpt, version.tags)
    return _Text(article.title, article.content, article.slug, article.seo_title,
                 article.meta_description, article.excerpt, article.tags)


def draft_for(article: Article, target: PublishTarget) -> PostDraft:
    """The post for `article` on `target`, in the target's default status (a publish request's
    own status and date replace them: `dataclasses.replace`). The SEO fields are the article's
    (app/articles/seo.py); an article stored before they existed gets them derived here."""
    text = _text_of(article)
    summary = _summary(text.content)
    body = _LEADING_H1.sub("", text.content)  # WordPress shows the title itself
    return PostDraft(
        title=text.title,
        html=f"{marker_for(article.id, target.key)}\n{markdown_to_html(body)}",
        excerpt=text.excerpt or _cut(summary, EXCERPT_CHARS),
        slug=text.slug or slug_for(text.title, ascii_only=True),
        status=PostStatus(target.default_status), date_gmt=None,
        # Unmapped, our category's own name is used (created on the site when missing).
        category=(target.category_map or {}).get(article.category, article.category),
        tags=tuple(text.tags or (article.category,)),
        seo_title=text.seo_title or _cut(text.title, SEO_TITLE_CHARS),
        meta_description=text.meta_description or _cut(summary, META_DESCRIPTION_CHARS),
        article_id=article.id, language=article.language,
    )
