"""Request and response models of the article API (the limits are the domain's: the service
checks them and names the field at fault)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, WithJsonSchema

from app.articles import seo
from app.articles.service import MAX_CONTENT, MAX_NOTE, MAX_REVIEWER
from app.config import get_settings
from app.core.schemas import MAX_INT_ID, TEXT_PATTERN, OutModel, WholeNumber

Note = Field(None, description="Why (kept with the review or the version).")
Reviewer = Field(None, description="Ignored: the reviewer or author recorded is the signed-in "
                 "user (kept so older clients that send it are not refused).",
                 deprecated=True, examples=["Li Wei"])
# One line with something in it, as app.articles.service.clean_title takes it.
# Not blank: the one non-space character is not a control character either (a bare \S was).
_TEXT_CHAR = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"
TITLE_PATTERN = f"^{_TEXT_CHAR}*[^\\s\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]{_TEXT_CHAR}*$"
NoteText = Annotated[StrictStr, Field(json_schema_extra={
    "maxLength": MAX_NOTE, "pattern": TEXT_PATTERN})]
ReviewerName = Annotated[StrictStr, Field(json_schema_extra={
    "maxLength": MAX_REVIEWER, "pattern": TEXT_PATTERN})]


class ArticleOut(OutModel):
    id: int
    task_id: str
    item_id: int
    title: str
    category: str
    content: str
    provider: str
    model: str
    tokens: dict[str, int]
    # USD at the price of the lane it was written in; null when the model has no known price.
    cost_usd: float | None = None
    lane: str = "realtime"  # realtime, or batch (the provider's Batch API)
    # True when the server reported no usage and `tokens` are estimates (app/llm/tokens.py).
    tokens_estimated: bool = False
    created_at: datetime
    status: str = Field(description="draft, needs_review, approved, rejected or published")
    language: str | None = Field(description="BCP 47 tag it was written in")
    version: int = Field(description="Its current version (GET .../versions/{n})")
    quality_flags: list[dict[str, str]] = Field(
        description="The quality checks it failed: [{name, message}]")
    profile_id: int | None = Field(description="The stored profile that wrote it (null: a "
                                   "built-in default)")
    profile_version: int | None
    reviewer: str | None
    reviewed_at: datetime | None
    review_note: str | None
    updated_at: datetime | None
    slug: str | None = Field(None, description="ASCII, unique within its language")
    seo_title: str | None = None
    meta_description: str | None = None
    excerpt: str | None = None
    tags: list[str] = Field(default_factory=list)
    seo_flags: list[dict[str, str]] = Field(
        default_factory=list, description="SEO fields derived because the answer gave none "
        "valid: [{name: seo.<field>, message}]")
    publish_at: datetime | None = Field(None, description="A scheduled publish (UTC)")
    published_at: datetime | None = Field(None, description="When it went live")
    published_version: int | None = Field(
        None, description="The version the Content API serves (null: nothing is live)")


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    total: int
    limit: int
    offset: int


# A whole number; JSON Schema counts 3.0 as one too (the endpoint refuses 3.5).
SeenVersion = Annotated[WholeNumber, WithJsonSchema({
    "type": "integer", "minimum": 1, "maximum": MAX_INT_ID})]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: SeenVersion | None = Field(
        None, description='The version you reviewed (or send If-Match: "<version>"); an edit '
        "since: 409; none: 428")
    note: NoteText | None = Note
    reviewer: ReviewerName | None = Reviewer


class PublishAtIn(ReviewIn):
    publish_at: datetime = Field(description="When to publish, with its zone (stored in UTC); "
                                 "in the future, at most a year ahead")


class UnpublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: NoteText | None = Note
    reviewer: ReviewerName | None = Reviewer


SeoTitle = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": seo.MAX_SEO_TITLE, "pattern": TITLE_PATTERN})]
MetaDescription = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": seo.MAX_META, "pattern": TITLE_PATTERN})]


Tag = Annotated[StrictStr, Field(json_schema_extra={"minLength": 1, "maxLength": seo.MAX_TAG})]


class EditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[StrictStr, Field(json_schema_extra={
        "minLength": 1, "maxLength": get_settings().max_title_length,
        "pattern": TITLE_PATTERN})] | None = Field(
        None, description="The new title (one line)")
    content: Annotated[StrictStr, Field(json_schema_extra={
        "maxLength": MAX_CONTENT, "pattern": TEXT_PATTERN})] | None = (
        Field(None, description="The new Markdown"))
    version: SeenVersion | None = Field(
        None, description='The version you edited (or send If-Match: "<version>"); another '
        "edit since: 409")
    reviewer: ReviewerName | None = Reviewer
    note: NoteText | None = Note
    slug: Annotated[StrictStr, Field(json_schema_extra={
        "minLength": 1, "maxLength": seo.MAX_SLUG, "pattern": seo.SLUG_PATTERN})] | None = Field(
        None, description="ASCII lower case words joined by '-', unique within the language")
    seo_title: SeoTitle | None = None
    meta_description: MetaDescription | None = Field(
        None, description="About 150-160 characters for English, 70-80 for Chinese")
    excerpt: Annotated[StrictStr, Field(json_schema_extra={
        "minLength": 1, "maxLength": seo.MAX_EXCERPT})] | None = None
    tags: Annotated[list[Tag], Field(max_length=seo.MAX_TAGS)] | None = None

    def seo_fields(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in
                ("slug", "seo_title", "meta_description", "excerpt", "tags")}


class VersionSummary(OutModel):
    version: int
    title: str
    source: str = Field(description="generated, edit or regenerated")
    author: str | None
    note: str | None
    model: str | None
    created_at: datetime


class VersionOut(VersionSummary):
    article_id: int
    content: str
    slug: str | None = None
    seo_title: str | None = None
    meta_description: str | None = None
    excerpt: str | None = None
    tags: list[str] | None = None


class VersionList(BaseModel):
    items: list[VersionOut] = Field(description="Oldest first, each with its content")
    total: int
    current: int = Field(description="The article's current version")


def article_out(article: Any) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        task_id=article.task_id,
        item_id=article.item_id,
        title=article.title,
        category=article.category,
        content=article.content,
        provider=article.provider,
        model=article.model,
        created_at=article.created_at,
        cost_usd=article.cost_usd,
        lane=article.lane or "realtime",
        tokens_estimated=bool(article.tokens_estimated),
        tokens={
            "prompt": article.prompt_tokens,
            "completion": article.completion_tokens,
            "total": article.total_tokens,
        },
        status=article.status,
        language=article.language,
        version=article.version,
        quality_flags=article.quality_flags or [],
        profile_id=article.profile_id,
        profile_version=article.profile_version,
        reviewer=article.reviewer,
        reviewed_at=article.reviewed_at,
        review_note=article.review_note,
        updated_at=article.updated_at,
        slug=article.slug,
        seo_title=article.seo_title,
        meta_description=article.meta_description,
        excerpt=article.excerpt,
        tags=article.tags or [],
        seo_flags=article.seo_flags or [],
        publish_at=article.publish_at,
        published_at=article.published_at,
        published_version=article.published_version,
    )


def version_out(row: Any) -> VersionOut:
    return VersionOut.model_validate(row)
