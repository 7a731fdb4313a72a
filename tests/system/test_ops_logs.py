"""Logs (JSON lines with batch and item ids, no secrets) and Sentry reports from API and workers."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.celery_app import app as celery_app
from tests.support.api_helpers import submit, wait_final
from tests.support.stack import use_settings, wait_for


def test_worker_logs_are_json_lines_with_batch_and_item_ids(api, start_worker, fake_llm,
                                                            llm_env):
    fake_llm.add_rule("Retry me", ["500"])
    worker = start_worker(concurrency=2, log_format="json", log_level="DEBUG", **llm_env)
    batch = submit(api, ["Retry me once", "Log title two"])
    status = wait_final(api, batch["task_id"])
    item_ids = {i["id"] for i in status["items"]}

    lines = [line for line in worker.log_path.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    assert len(records) > 20 and all({"ts", "level", "logger", "message"} <= r.keys()
                                     for r in records)

    # Lines about an item say which batch and item, as fields a log search can filter on.
    about_items = [r for r in records if r["logger"] == "app.batches.generation.runner"]
    assert any("generating" in r["message"] for r in about_items)
    assert any("retrying in" in r["message"] for r in about_items)
    assert all(r["batch_id"] == batch["task_id"] and r["item_id"] in item_ids
               for r in about_items)
    succeeded = [r for r in records if r["logger"] == "celery.app.trace"
                 and "generate_single_article" in r["message"] and "succeeded" in r["message"]]
    # One task per attempt: the failed attempt's task ends too (its item waits in the backlog
    # for the retry, which is a new task), so three for two items here.
    assert len(succeeded) == sum(i["attempts"] for i in status["items"]) == 3
    assert {r["item_id"] for r in succeeded} == item_ids and all(r["task_id"] for r in succeeded)
    dispatched = [r for r in records if r.get("task_name", "").endswith("generate_article_batch")]
    assert dispatched and all(r["batch_id"] == batch["task_id"] for r in dispatched)

    # DEBUG includes the HTTP client's own logs; the key still never shows.
    assert llm_env["OPENAI_API_KEY"] not in worker.log_path.read_text()


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_are_blanked_in_log_lines(database, log_format):
    from app.core.logs import bind_log_context, clear_log_context, prepare_handler

    secrets = {"api_token": "tok-very-secret-1", "openai_api_key": "sk-live-secret-2",
               "database_url": "postgresql+psycopg://app:db-pass-3@db.internal/app"}
    before = {k: os.environ.get(k.upper()) for k in ("log_format", *secrets)}
    use_settings(log_format=log_format, **secrets)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    prepare_handler(handler)
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        bind_log_context(batch_id="b-1", item_id=7)
        logger.warning("calling with Authorization: Bearer %s", "tok-very-secret-1",
                       extra={"dsn": secrets["database_url"]})
        try:
            raise RuntimeError("provider said: bad key sk-live-secret-2")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        clear_log_context()
        logger.removeHandler(handler)
        use_settings(**{**before, "database_url": database})
    out = buffer.getvalue()
    for secret in ("tok-very-secret-1", "sk-live-secret-2", "db-pass-3"):
        assert secret not in out
    assert "Bearer ***" in out and "bad key ***" in out
    if log_format == "json":
        first = json.loads(out.splitlines()[0])
        assert first["batch_id"] == "b-1" and first["item_id"] == 7
        assert first["dsn"] == "postgresql+psycopg://app:***@db.internal/app"


# --- Sentry ------------------------------------------------------------------------------


class FakeSentry:
    """Accepts Sentry envelopes over HTTP and keeps the events they carry."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.raw: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                text = body.decode(errors="replace")
                owner.raw.append(text)
                for line in text.splitlines():
                    try:
                        item = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(item, dict) and "exception" in item:
                        owner.events.append(item)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://publickey123@127.0.0.1:{self.server.server_port}/42"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def types(self) -> set[str]:
        return {v["type"] for e in self.events for v in e["exception"]["values"]}

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    server = FakeSentry()
    yield server
    server.close()


def test_worker_errors_reach_sentry_with_the_task(start_worker, sentry, llm_env):
    start_worker(concurrency=1, sentry_dsn=sentry.dsn, **llm_env)
    missing = uuid.uuid4().hex
    celery_app.send_task("app.tasks.ai_generation.generate_article_batch", args=[missing])

    wait_for(lambda: "LookupError" in sentry.types(), timeout=30, interval=0.2,
             message="the task's error to reach Sentry")
    event = next(e for e in sentry.events if "LookupError" in json.dumps(e["exception"]))
    text = json.dumps(event)
    assert "app.tasks.ai_generation.generate_article_batch" in text and missing in text
    assert event["tags"]["component"] == "worker"
    assert all(llm_env["OPENAI_API_KEY"] not in raw for raw in sentry.raw)


def test_api_errors_reach_sentry(database, sentry):
    import sentry_sdk
    from fastapi.testclient import TestClient

    from app.main import create_app

    before = {k: os.environ.get(k.upper()) for k in ("sentry_dsn", "api_token")}
    use_settings(sentry_dsn=sentry.dsn, api_token="tok-sentry-secret-9-kq3ZtP0v9xWc")
    try:
        client = TestClient(create_app(), raise_server_exceptions=False)
        use_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
        headers = {"Authorization": "Bearer tok-sentry-secret-9-kq3ZtP0v9xWc"}
        assert client.get("/api/tasks", headers=headers).status_code == 500
        sentry_sdk.flush(5)
        wait_for(lambda: "OperationalError" in sentry.types(), timeout=15,
                 message="the API's error to reach Sentry")
    finally:
        sentry_sdk.init(dsn=None)
        use_settings(**{**before, "database_url": database})
    event = next(e for e in sentry.events if "OperationalError" in json.dumps(e["exception"]))
    assert event["tags"]["component"] == "api"
    assert event["request"]["url"].endswith("/api/tasks")
    assert all("tok-sentry-secret-9-kq3ZtP0v9xWc" not in raw for raw in sentry.raw)
