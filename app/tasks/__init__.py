"""Thin Celery adapters over app.services: ids in, idempotent, each with its own session."""
