"""Security (issue 3, promise 9): bearer token, JSON-only queue, and the API key kept secret.

HTML escaping of article content belongs to the page and is tested with it (tests/test_page.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.batches import service as batches
from app.celery_app import app as celery_app
from app.config import get_settings
from app.core import names
from app.core.db import session_scope
from tests.support import faults
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import use_settings, wait_for

TOKEN = "api-token-for-the-tests"


def _api_routes() -> Iterator[tuple[str, str]]:
    """(method, path) of every route of the app under /api, however routers are nested."""
    from app.main import app

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            inner = getattr(route, "original_router", None) or getattr(route, "app", None)
            if getattr(inner, "routes", None) is not None and not hasattr(route, "methods"):
                yield from walk(inner.routes)
            else:
                yield route

    for route in walk(list(app.routes)):
        path = getattr(route, "path", "")
        if path.startswith("/api/"):
            for method in sorted(set(getattr(route, "methods", ())) - {"HEAD", "OPTIONS"}):
                yield method, re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def token_required(api: Any) -> Iterator[Any]:
    use_settings(api_token=TOKEN)
    try:
        yield api
    finally:
        use_settings(api_token="")


HEALTH = ("/api/health/ready", "/api/health/live")


def test_every_api_route_but_health_needs_the_bearer_token(token_required):
    api = token_required
    routes = list(_api_routes())
    assert ("POST", "/api/tasks/generate-articles") in routes and len(routes) >= 8
    for method, path in routes:
        if path in HEALTH:
            continue
        for headers in ({}, {"Authorization": "Bearer wrong-token"},
                        {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}):
            response = api.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers.get("www-authenticate") == "Bearer"
        right = api.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code != 401, (method, path)
    for path in HEALTH:  # open for load balancers and orchestrators
        assert api.get(path).status_code in (200, 503), path
    ok = api.post("/api/tasks/generate-articles", headers={"Authorization": f"Bearer {TOKEN}"},
                  json={"titles": ["Authorised title"], "category": "guide"})
    assert ok.status_code == 202
    assert faults.batch_count() == 1  # only the authorised request stored anything


class _Payload:
    """Unpickling this makes a directory: the side effect a pickled message could carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (str(self.marker),)


def test_pickled_message_is_refused_and_never_run(database, start_worker, tmp_path):
    from kombu import Connection

    marker = tmp_path / "unpickled"
    with session_scope() as session:
        victim = batches.create_batch(session, ["Pickle victim title"], "guide")
    # A hand-made task message for a real task, serialized with pickle, put first in line.
    with Connection(get_settings().celery_broker_url) as conn:
        task_id = str(uuid.uuid4())
        conn.Producer().publish(
            ((_Payload(marker), victim.id), {}, {"callbacks": None, "errbacks": None,
                                                 "chain": None, "chord": None}),
            exchange="", routing_key="celery", serializer="pickle",
            headers={"lang": "py", "task": "app.tasks.ai_generation.handle_generation_error",
                     "id": task_id, "root_id": task_id, "parent_id": None, "group": None,
                     "argsrepr": "", "kwargsrepr": "", "retries": 0, "eta": None,
                     "expires": None, "timelimit": [None, None]},
        )
    assert faults.queue_length() == 1
    # then the batch's real (JSON) message
    celery_app.send_task(names.BATCH_TASK, args=[victim.id], task_id=victim.celery_task_id)

    worker = start_worker(concurrency=2)
    wait_for(lambda: faults.item_statuses(victim.id) == {"Pickle victim title": "completed"},
             timeout=60, message="the JSON message behind the pickled one to run")
    log = worker.log_tail(400)
    assert "Refusing to deserialize untrusted content of type pickle" in log, log
    assert not marker.exists(), "the pickled payload was unpickled"
    assert f"handle_generation_error[{task_id}]" not in log
    assert faults.queue_length() == 0  # refused and dropped, not left to be retried


class _TaskEvents:
    """Every task event (sent/received/succeeded...) on the broker, arguments included."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with celery_app.connection() as conn:
            self._receiver = celery_app.events.Receiver(
                conn, handlers={"*": self.events.append})
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def __enter__(self) -> _TaskEvents:
        self._thread.start()
        wait_for(lambda: self._receiver is not None, timeout=10, message="the event receiver")
        return self

    def __exit__(self, *_: object) -> None:
        self._receiver.should_stop = True
        self._thread.join(10)


def _decoded(values: list[bytes]) -> list[str]:
    """Redis values as text, with kombu's base64 message bodies opened up."""
    out = []
    for value in values:
        text = value.decode(errors="replace")
        out.append(text)
        try:
            body = json.loads(text).get("body")
            out.append(base64.b64decode(body).decode(errors="replace"))
        except (ValueError, AttributeError, TypeError):
            pass
    return out


def test_the_openai_key_appears_in_no_log_argument_row_or_result(
    api, start_worker, fake_llm, llm_env
):
    key = llm_env["OPENAI_API_KEY"]
    fake_llm.add_rule("Flaky title", ["500"])  # a retry on the way
    fake_llm.add_rule("Refused title", ["401"], then=Behavior("401"))  # an auth error stored
    worker = start_worker(concurrency=2, extra=["--loglevel", "DEBUG"], LOG_LEVEL="DEBUG",
                          CELERY_TASK_EVENTS="true", **llm_env)
    with _TaskEvents() as events:
        batch = submit(api, ["Flaky title", "Refused title", "Plain title"])
        status = wait_final(api, batch["task_id"])
        wait_for(lambda: any(e["type"] == "task-succeeded" for e in events.events), timeout=20,
                 message="task events")
    assert status["status"] == "partially_completed"
    assert all(r.headers.get("authorization") == f"Bearer {key}" for r in fake_llm.requests)

    secrets = (key, key[-12:])
    log = Path(worker.log_path).read_text(errors="replace")
    assert "HTTP Request: POST" in log and "DEBUG" in log  # the log is the real, verbose one
    task_events = [json.dumps(e, default=str) for e in events.events]
    assert any("argsrepr" in e or "args" in e for e in task_events)
    rows = [repr(row) for row in faults.all_rows()]
    assert any(batch["task_id"] in r for r in rows)
    settings = get_settings()
    stored = [v for url in {settings.celery_broker_url, settings.celery_result_backend,
                            settings.redis_url} for v in _decoded(faults.redis_values(url))]
    assert any(batch["task_id"] in v for v in stored)  # Celery results are among them
    for where, texts in (("worker log", [log]), ("task events", task_events),
                         ("database", rows), ("redis", stored)):
        for secret in secrets:
            assert not any(secret in text for text in texts), f"the key leaked into the {where}"
