"""Every table, imported in one place so the mappers and Alembic see the whole schema."""

from __future__ import annotations

from app.articles.models import Article, ArticleVersion
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.models import Base, new_id, utcnow
from app.profiles.models import CategoryProfile
from app.schedules.models import Schedule

__all__ = ["AIGenerationTask", "Article", "ArticleVersion", "Base", "BatchStatus",
           "CategoryProfile", "GenerationItem", "ItemStatus", "Schedule", "new_id", "utcnow"]
