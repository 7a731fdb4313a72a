"""The article written for one item, its versions and its near-duplicate signature."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.articles.enums import ArticleStatus
from app.core.models import Base, utcnow

if TYPE_CHECKING:
    from app.batches.models import GenerationItem


class Article(Base):
    """The article written for one item; unique per item, so a re-run cannot duplicate it."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_article_category_created", "category", "created_at"),
        # A slug is unique within its language (app/articles/seo.py chooses a free one).
        Index("ix_articles_language_slug", "language", "slug", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("generation_items.id", ondelete="CASCADE"), unique=True
    )
    task_id: Mapped[str] = mapped_column(
        ForeignKey("ai_generation_tasks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=ArticleStatus.DRAFT, index=True)
    language: Mapped[str | None] = mapped_column(String(35))
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current ArticleVersion
    quality_flags: Mapped[list | None] = mapped_column(JSON)  # [{name, message}] of failed checks
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: the model has no known price
    lane: Mapped[str] = mapped_column(String(16), default="realtime")
    tokens_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    profile_id: Mapped[int | None] = mapped_column(Integer)
    profile_version: Mapped[int | None] = mapped_column(Integer)
    reviewer: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The current version's SEO fields (app/articles/seo.py); seo_flags: the derived ones.
    slug: Mapped[str | None] = mapped_column(String(200))  # ASCII, unique per language
    seo_title: Mapped[str | None] = mapped_column(String(200))
    meta_description: Mapped[str | None] = mapped_column(String(400))
    excerpt: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list | None] = mapped_column(JSON)  # [str]
    seo_flags: Mapped[list | None] = mapped_column(JSON)  # [{name, message}]
    # Publishing: the version that is live (None: nothing), when it first went live, and a
    # scheduled publish the workers' maintenance loop fires (app/articles/publishing.py).
    publish_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    published_version: Mapped[int | None] = mapped_column(Integer)

    item: Mapped[GenerationItem] = relationship(back_populates="article")
    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.version",
        cascade="all, delete-orphan",
    )


class ArticleVersion(Base):
    """The generated original, every edit and every regeneration of an article, kept."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_article_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # VersionSource
    author: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    slug: Mapped[str | None] = mapped_column(String(200))
    seo_title: Mapped[str | None] = mapped_column(String(200))
    meta_description: Mapped[str | None] = mapped_column(String(400))
    excerpt: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list | None] = mapped_column(JSON)

    article: Mapped[Article] = relationship(back_populates="versions")


class ArticleSignature(Base):
    """The MinHash of an article's current text, written with it (app/articles/duplicates.py);
    an article without one is not a near-duplicate candidate until it is backfilled."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    scheme: Mapped[str] = mapped_column(String(64))  # app.articles.signatures.scheme()
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: a text without words


class ArticleBand(Base):
    """One LSH band key of a signature: near copies share one (app/articles/signatures.py)."""

    __tablename__ = "article_bands"
    __table_args__ = (Index("ix_article_bands_article", "article_id"),)

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("article_signatures.article_id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)


# What migration 0004 builds for full-text search that a model cannot describe: an FTS5 table
# (and its shadow tables, named after it) on SQLite, pg_trgm GIN indexes on PostgreSQL.
SEARCH_TABLE = "articles_fts"
SEARCH_INDEXES = frozenset({"ix_articles_title_trgm", "ix_articles_content_trgm"})
