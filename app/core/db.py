"""One engine per process (rebuilt after fork), and units of work committed at the boundary.

A session committed by `session_scope` (or by the request's SessionDep) delivers what its
services recorded on app.core.outbox right after the commit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings
from app.core import outbox  # noqa: F401  (installs the after-commit delivery)

_engine: Engine | None = None
_engine_pid: int | None = None
_sessionmaker: sessionmaker[Session] | None = None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" event below issues BEGIN IMMEDIATE,
    # so every writer takes the lock up front instead of failing on upgrade (SQLITE_BUSY).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


# Execution option of read-only sessions: on SQLite they begin DEFERRED, so in WAL mode they
# neither wait for nor hold up the writers (API reads under load took the write lock before).
READ_ONLY = "ta_read_only"


def _sqlite_begin(conn: Any) -> None:
    read_only = conn.get_execution_options().get(READ_ONLY)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    # Pools grow lazily: a prefork child opens one connection, a threads worker up to its
    # concurrency, and nobody waits on the pool for a connection while a thread holds one.
    settings = get_settings()
    if url.startswith("sqlite"):
        path = make_url(url).database
        pool: dict[str, int] = {}
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


def get_engine() -> Engine:
    """The process's engine; a forked child builds its own instead of sharing sockets."""
    global _engine, _engine_pid, _sessionmaker
    if _engine is None or _engine_pid != os.getpid():
        _engine = make_engine(get_settings().database_url)
        _engine_pid = os.getpid()
        _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def reset_engine() -> None:
    """Forget the engine (after fork, or when a test switches databases)."""
    global _engine, _sessionmaker
    if _engine is not None and _engine_pid == os.getpid():
        _engine.dispose()
    _engine = None
    _sessionmaker = None


@lru_cache(maxsize=4)
def _read_only(engine: Engine) -> Engine:
    """The engine with READ_ONLY set: same pool, built once per engine."""
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def session_scope(read_only: bool = False) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error.

    `read_only=True` promises no writes: on SQLite the session then reads a snapshot without
    taking the write lock.
    """
    engine = get_engine()
    assert _sessionmaker is not None
    session = _sessionmaker(bind=_read_only(engine)) if read_only else _sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
