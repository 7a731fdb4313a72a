"""Is the stack able to do work? Database, broker, and at least one worker."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from app.core import queue
from app.core.db import get_engine
from app.core.redis import broker_client


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"ok": True, **(detail or {})}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
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
    # limit=1: answer as soon as one worker replies instead of waiting out the timeout.
    replies = queue.celery().control.ping(timeout=1.0, limit=1) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise RuntimeError("no worker answered a ping within 1 s")
    return {"count": len(names), "names": names}


def check() -> dict[str, Any]:
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    # Without a broker, pinging workers would only wait for the timeout.
    checks["workers"] = (
        _timed(_workers) if checks["broker"]["ok"] else {"ok": False, "error": "broker unavailable"}
    )
    down = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "ok" if not down else "unavailable", "down": down, "checks": checks}
