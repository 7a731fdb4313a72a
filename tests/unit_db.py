"""A migrated database shared by the fast unit tests, emptied between tests.

Migrating per test costs a few hundred milliseconds; the unit tests of the state machine and
the services share one database per kind (SQLite always, PostgreSQL when TEST_POSTGRES_URL is
set) and delete every row after each test instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from app.core.db import get_engine, session_scope
from app.models import Base
from tests.support.stack import migrate, postgres_database, use_settings

KINDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_POSTGRES_URL") else [])


@pytest.fixture(scope="session", params=KINDS)
def unit_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('unit')) / 'unit.db'}"
        migrate(url)
        use_settings(database_url=url)
        yield url
    else:
        admin = os.environ["TEST_POSTGRES_URL"].replace("postgresql://", "postgresql+psycopg://")
        with postgres_database(admin) as url:
            use_settings(database_url=url)
            yield url
    use_settings(database_url=os.environ.get("DATABASE_URL"))


@pytest.fixture
def db(unit_database: str) -> Iterator[str]:
    """The unit database for this test (this process's engine points at it), emptied after."""
    use_settings(database_url=unit_database)
    yield unit_database
    get_engine()
    with session_scope() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
