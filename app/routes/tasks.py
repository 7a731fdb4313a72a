"""The plan's path: the task-queue API router (code in app.batches.api.endpoints)."""

from __future__ import annotations

from app.batches.api.endpoints import router

__all__ = ["router"]
