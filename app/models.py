"""Every table, imported in one place so the mappers and Alembic see the whole schema."""

from __future__ import annotations

from app.articles.models import Article
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.models import Base, new_id, utcnow
from app.schedules.models import Schedule

__all__ = ["AIGenerationTask", "Article", "Base", "BatchStatus", "GenerationItem",
           "ItemStatus", "Schedule", "new_id", "utcnow"]
