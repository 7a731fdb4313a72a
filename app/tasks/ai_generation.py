"""The plan's path: its four tasks, registered under their names (code in app.batches.tasks)."""

from __future__ import annotations

from app.batches.tasks import (
    generate_article_batch,
    generate_single_article,
    handle_generation_error,
    update_task_status,
)
from app.celery_app import app

__all__ = ["app", "generate_article_batch", "generate_single_article",
           "handle_generation_error", "update_task_status"]
