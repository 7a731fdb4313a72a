"""Alembic builds exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.db import get_engine
from app.models import Base, in_models


def test_migrations_match_the_models(database):
    with get_engine().connect() as conn:
        assert compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": in_models}), Base.metadata) == []
