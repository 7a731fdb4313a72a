"""What the Content API shows of an article: an allow-list, field by field.

`extra="forbid"` and building each answer from named fields only (app.content.service) mean a
field added to the article's table never reaches the public API unless it is added here.
tests/content/test_content_api.py compares these names with what the API answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

PUBLIC_FIELDS = ("slug", "language", "category", "title", "seo_title", "meta_description",
                 "excerpt", "tags", "html", "markdown", "url", "published_at", "updated_at")


class _Public(BaseModel):
    """Pure pydantic (app.content.service builds these and knows nothing of HTTP); times in
    UTC with a Z, as app.core.schemas.OutModel writes them."""

    model_config = ConfigDict(extra="forbid")

    @field_serializer("*", when_used="json")
    def _times(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return value


class ContentArticle(_Public):

    slug: str = Field(description="ASCII, unique within its language")
    language: str | None = Field(description="BCP 47 tag")
    category: str
    title: str
    seo_title: str | None
    meta_description: str | None
    excerpt: str | None
    tags: list[str]
    html: str = Field(description="The Markdown rendered as HTML (raw HTML in it escaped)")
    markdown: str
    url: str = Field(description="Where this article is read (CONTENT_BASE_URL)")
    published_at: datetime = Field(description="When it first went live (UTC)")
    updated_at: datetime = Field(description="When the live text last changed (UTC)")


class ContentPage(_Public):

    items: list[ContentArticle] = Field(description="Newest first by published_at")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at "
                                    "the end")
