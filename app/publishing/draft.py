"""What we send for an article: `PostDraft`, built from an Article by `draft_for`, the one
adapter between the articles domain and WordPress's post fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.articles import seo
from app.articles.models import Article
from app.articles.render import markdown_to_html
from app.llm.language import uses_characters
from app.publishing.enums import PostStatus
from app.publishing.models import PublishTarget

SEO_TITLE_CHARS = 60  # what search results show of a title; WordPress' SEO plugins cut there
_LEADING_H1 = re.compile(r"\A\s*#\s+[^\n]*\n+")


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
    body = _LEADING_H1.sub("", text.content)  # WordPress shows the title itself
    return PostDraft(
        title=text.title,
        html=f"{marker_for(article.id, target.key)}\n{markdown_to_html(body)}",
        excerpt=text.excerpt or seo.derive_excerpt(text.content, article.language),
        slug=text.slug or seo.slug_from(text.title),
        status=PostStatus(target.default_status), date_gmt=None,
        # Unmapped, our category's own name is used (created on the site when missing).
        category=(target.category_map or {}).get(article.category, article.category),
        tags=tuple(text.tags or (article.category,)),
        seo_title=text.seo_title or seo.cut(
            " ".join(text.title.split()), SEO_TITLE_CHARS,
            characters=uses_characters(article.language or "en")),
        meta_description=(text.meta_description
                          or seo.derive_meta(text.content, article.language)),
        article_id=article.id, language=article.language,
    )
