"""The review states of an article and where its versions come from."""

from __future__ import annotations

from enum import StrEnum


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    """Written and every quality check passed; nobody reviewed it yet."""
    NEEDS_REVIEW = "needs_review"
    """Kept although a quality check still failed after the allowed regenerations."""
    APPROVED = "approved"
    """An editor approved it."""
    REJECTED = "rejected"
    """An editor rejected it (it can be edited or regenerated and reviewed again)."""
    SCHEDULED = "scheduled"
    """Approved, to be published at its `publish_at` (the workers' maintenance loop)."""
    PUBLISHED = "published"
    """Its current version is live (the Content API serves `published_version`). An edit of a
    published article makes it a draft again while the published version stays live."""


class VersionSource(StrEnum):
    GENERATED = "generated"
    """The first article the LLM wrote for the item."""
    EDIT = "edit"
    """An editor changed the title or content."""
    REGENERATED = "regenerated"
    """Written again by the LLM on request (with the editor's feedback)."""
