"""Every table, imported in one place so the mappers and Alembic see the whole schema."""

from __future__ import annotations

from app.accounts.models import ApiToken, LoginSession, User
from app.articles.models import SEARCH_INDEXES, SEARCH_TABLE, Article, ArticleVersion
from app.audit.models import AuditEntry
from app.batches.enums import BatchStatus, ItemStatus
from app.batches.models import AIGenerationTask, GenerationItem, SubmitLimit
from app.core.models import Base, new_id, utcnow
from app.profiles.models import CategoryProfile
from app.publishing.models import Publication, PublishTarget
from app.schedules.models import Schedule
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = ["AIGenerationTask", "ApiToken", "Article", "ArticleVersion", "AuditEntry", "Base",
           "BatchStatus", "CategoryProfile", "GenerationItem", "ItemStatus", "LoginSession",
           "Publication", "PublishTarget", "Schedule", "SubmitLimit", "User", "WebhookAttempt",
           "WebhookDelivery", "WebhookSubscription", "in_models", "new_id", "utcnow"]


def in_models(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's `include_name`: False for the search objects of migration 0004, which the
    models cannot describe, so comparing the schema with the models leaves them alone."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)
