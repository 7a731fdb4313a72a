"""Small helpers for driving the API in tests."""

from __future__ import annotations

from typing import Any

from tests.support.stack import wait_for

FINAL = {"completed", "partially_completed", "failed", "cancelled"}


def submit(api: Any, titles: list[str], category: str = "guide", **headers: str) -> dict:
    response = api.post("/api/tasks/generate-articles",
                        json={"titles": titles, "category": category}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def wait_final(api: Any, task_id: str, timeout: float = 60) -> dict:
    """Poll /progress until the batch ends, checking progress never goes backwards."""
    seen: list[int] = []

    def ended() -> dict | None:
        progress = api.get(f"/api/tasks/{task_id}/progress").json()
        seen.append(progress["progress"])
        assert seen == sorted(seen), f"progress went backwards: {seen}"
        return progress if progress["status"] in FINAL else None

    wait_for(ended, timeout=timeout, interval=0.1, message=f"batch {task_id} to end")
    status = api.get(f"/api/tasks/{task_id}/status").json()
    assert status["completed"] + status["failed"] + status["cancelled"] == status["total"]
    return status


def leaf_routes(app: Any) -> list[Any]:
    """Every route of the app, however routers are included or nested (FastAPI keeps an
    included router as one entry with the routes inside it)."""

    def walk(routes: list[Any]) -> list[Any]:
        found = []
        for route in routes:
            inner = getattr(route, "original_router", None) or getattr(route, "app", None)
            if getattr(inner, "routes", None) is not None and not hasattr(route, "methods"):
                found.extend(walk(inner.routes))
            else:
                found.append(route)
        return found

    return walk(list(app.routes))
