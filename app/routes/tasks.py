"""The plan's path: the task-queue API router (code in app.batches.endpoints)."""

from __future__ import annotations

from app.batches.endpoints import router

__all__ = ["router"]
