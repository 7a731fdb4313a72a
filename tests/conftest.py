"""Test session: a private redis-server, migrated databases, real Celery workers, a fake LLM.

The redis-server starts in pytest_configure, before any test module imports `app`, because the
Celery app reads its broker URL when it is imported. Under pytest-xdist (`make test` runs
`-n TEST_WORKERS`) each xdist worker is a session of its own: its own redis-server, run
directory, SQLite files and PostgreSQL databases (uniquely named), so tests never share them.
The xdist controller runs no test and starts nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.embedded_redis import RedisServer
from tests.support.stack import (
    ROOT,
    Beat,
    Worker,
    migrate,
    postgres_database,
    use_settings,
)

pytest_plugins = ["tests.unit_db"]  # `db`: the fast unit tests' shared, emptied database

_RUN_DIR = Path(tempfile.mkdtemp(prefix="ta-tests-"))
_REDIS: RedisServer | None = None

# Fast, small settings for every process the tests start. Tests override per worker.
BASE_ENV = {
    "OFFLINE_DELAY": "0.05",
    "LLM_RETRY_BACKOFF": "0.2",
    "LLM_RETRY_BACKOFF_MAX": "1",
    "LLM_TIMEOUT": "10",
    "ITEM_LEASE_SECONDS": "30",
    "REAPER_INTERVAL": "1",
    "REAPER_PENDING_GRACE": "3",
    "LOG_LEVEL": "INFO",
    "API_TOKEN": "",
    # The tests that predate accounts call the API without credentials; tests/accounts switch
    # this off to test authentication itself.
    "API_ALLOW_UNAUTHENTICATED": "true",
    "API_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost,[::1]",
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "",
    "LLM_PROVIDER": "",
    "LLM_RPM": "0",
    "METRICS_CACHE_SECONDS": "0",  # tests read /metrics right after a change
    "LLM_TPM": "0",
}


def pytest_configure(config: pytest.Config) -> None:
    global _REDIS
    if _is_xdist_controller(config):
        return
    _REDIS = RedisServer(_RUN_DIR / "redis").start()
    os.environ.update(BASE_ENV)
    os.environ["CELERY_BROKER_URL"] = f"{_REDIS.url}/0"
    os.environ["CELERY_RESULT_BACKEND"] = f"{_REDIS.url}/1"
    os.environ["REDIS_URL"] = f"{_REDIS.url}/2"
    os.environ["DATABASE_URL"] = f"sqlite:///{_RUN_DIR / 'default.db'}"
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _is_xdist_controller(config: pytest.Config) -> bool:
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not os.environ.get("PYTEST_XDIST_WORKER")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _REDIS is not None:
        _REDIS.stop()


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    assert _REDIS is not None
    return _REDIS


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return _RUN_DIR


@pytest.fixture(autouse=True)
def _fresh_redis(redis_server: RedisServer) -> Iterator[None]:
    """Each test starts with empty queues, results, locks and flags."""
    if redis_server.proc is None:
        redis_server.start()
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    # This process's feeder trusts its read of the worker registry for a second: a worker a
    # previous test registered must not count here.
    from app.batches.scheduling import feeder

    feeder.forget_capacity()
    yield


DB_PARAMS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_POSTGRES_URL") else [])


@pytest.fixture(params=DB_PARAMS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database built by Alembic, SQLite always and PostgreSQL when configured.

    The test process (API, services) is pointed at it; workers get it through `start_worker`.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        migrate(url)
        use_settings(database_url=url)
        yield url
    else:
        admin = os.environ["TEST_POSTGRES_URL"]
        if admin.startswith("postgresql://"):
            admin = "postgresql+psycopg://" + admin.removeprefix("postgresql://")
        with postgres_database(admin) as url:
            use_settings(database_url=url)
            yield url
    use_settings(database_url=os.environ.get("DATABASE_URL"))


@pytest.fixture
def fake_llm() -> Iterator[Any]:
    from tests.support.fake_openai import FakeOpenAI

    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


WorkerFactory = Callable[..., Worker]


def _process_env(database: str, overrides: dict[str, Any]) -> dict[str, str]:
    """The environment of a worker or beat the tests start: this session's, on the test's
    database, plus per-process overrides (setting names in any case)."""
    return {**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(ROOT),
            **{k.upper(): str(v) for k, v in overrides.items()}}


@pytest.fixture
def start_worker(database: str, tmp_path: Path) -> Iterator[WorkerFactory]:
    """Start real `celery worker` processes on the test's database; all stopped afterwards."""
    workers: list[Worker] = []

    def start(name: str = "w1", *, pool: str = "prefork", concurrency: int = 4,
              wait: bool = True, extra: list[str] | None = None, app: str = "app.celery_app",
              **env: str) -> Worker:
        worker = Worker(name, _process_env(database, env), tmp_path, pool=pool,
                        concurrency=concurrency, extra=extra, app=app)
        workers.append(worker)
        return worker.start(wait=wait)

    yield start
    for worker in workers:
        worker.stop(timeout=5)


@pytest.fixture
def start_beat(database: str, tmp_path: Path) -> Iterator[Callable[..., Beat]]:
    """Start a real `celery beat` (RedBeat) on the test's database; stopped afterwards."""
    beats: list[Beat] = []

    def start(wait: bool = True, **env: str) -> Beat:
        beat = Beat(_process_env(database, env), tmp_path, name=f"beat{len(beats) + 1}")
        beats.append(beat)
        return beat.start(wait=wait)

    yield start
    for beat in beats:
        beat.stop(timeout=5)


@pytest.fixture
def api(database: str) -> Iterator[Any]:
    """The FastAPI app in this process, on the test's database and the real Redis."""
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app) as client:
        yield client


@pytest.fixture
def llm_env(fake_llm: Any) -> dict[str, str]:
    """Worker settings that send LLM calls to the fake OpenAI-compatible server."""
    return {"OPENAI_BASE_URL": fake_llm.base_url, "OPENAI_API_KEY": "sk-test-secret-key-123",
            "OPENAI_MODEL": "test-model"}
