"""Is the stack able to do work? Database, broker, and at least one live worker.

Workers are read from the registry every worker keeps in Redis (app.core.workers: a heartbeat
key each), never pinged: a Celery `control.ping` is a broadcast to every worker and a wait of
up to its timeout on every call, which let anonymous requests stall the API. Errors are
masked as the logs are (app.core.logs.mask_secrets): a URL's password never reaches an answer.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from app.core import workers
from app.core.db import get_engine
from app.core.logs import mask_secrets
from app.core.redis import broker_client, get_redis


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"ok": True, **(detail or {})}
    except Exception as exc:
        result = {"ok": False, "error": mask_secrets(f"{type(exc).__name__}: {exc}")}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict[str, Any]:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"backend": get_engine().dialect.name}


def _broker() -> dict[str, Any]:
    client = broker_client(timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _workers() -> dict[str, Any]:
    alive = workers.alive(get_redis())
    if not alive:
        raise RuntimeError(f"no worker heartbeat in the last {workers.HEARTBEAT_TTL} s")
    return {"count": len(alive), "slots": sum(w.concurrency for w in alive.values()),
            "names": sorted(alive)}


def check() -> dict[str, Any]:
    """Every part with its details (for holders of the `ops` permission only)."""
    checks = {"database": _timed(_database), "broker": _timed(_broker),
              "workers": _timed(_workers)}
    down = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "ok" if not down else "unavailable", "down": down, "checks": checks}


def ready() -> bool:
    """The same checks, for the public readiness probe: only whether all of them passed."""
    return not check()["down"]
