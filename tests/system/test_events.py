"""Live progress as Server-Sent Events, read over HTTP from a real uvicorn with real workers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import http
from tests.support.server import running_api
from tests.support.stack import wait_for

Event = tuple[float, Any]  # (time received, parsed data or the raw comment line)


def read_stream(url: str, events: list[Event], *, params: dict | None = None,
                until: Callable[[list[Event]], bool] | None = None,
                headers: dict | None = None) -> httpx.Response:
    """Collect the stream's messages until the server ends it (or `until(events)` holds)."""
    timeout = httpx.Timeout(90, connect=10)  # a bound for a stalled stream, on a busy machine
    with httpx.stream("GET", url, params=params, timeout=timeout, headers=headers) as response:
        if response.status_code != 200:
            response.read()
            return response
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append((time.time(), json.loads(line[6:])))
            elif line.startswith(":"):
                events.append((time.time(), line))
            if until is not None and until(events):
                break
    return response


def data(events: list[Event]) -> list[dict]:
    return [e for _, e in events if isinstance(e, dict)]


def listen_to_a_batch(base: str, titles: list[str], start_worker: Any) -> tuple[dict, list[Event]]:
    """Submit a batch, open its stream, and only then start a worker, so every item change
    happens while we listen; return when the server has ended the stream."""
    batch = http.post(f"{base}/api/tasks/generate-articles",
                      json={"titles": titles, "category": "guide"}).json()
    events: list[Event] = []
    url = f"{base}/api/tasks/{batch['task_id']}/events"
    reader = threading.Thread(target=read_stream, args=(url, events), daemon=True)
    reader.start()
    wait_for(lambda: data(events), timeout=15, message="the first snapshot")
    start_worker(concurrency=1, offline_delay="0.3")
    reader.join(timeout=60)
    assert not reader.is_alive(), "the stream did not end after the batch ended"
    return batch, events


def test_stream_carries_each_item_change_and_ends_with_the_final_state(
        database, tmp_path, start_worker):
    with running_api(database, tmp_path) as server:
        titles = ["Streaming one", "Streaming two", "Streaming three"]
        batch, events = listen_to_a_batch(server.url, titles, start_worker)
        status = http.get(f"{server.url}/api/tasks/{batch['task_id']}/status").json()

    messages = data(events)
    first, last = messages[0], messages[-1]
    assert first["type"] == "snapshot" and first["status"] == "pending"
    assert [i["title"] for i in first["items"]] == titles
    assert last["type"] == "snapshot" and last["status"] == "completed"
    assert last["current"] == last["total"] == 3 and last["progress"] == 100
    assert all(i["status"] == "completed" and i["article_id"] for i in last["items"])

    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    changes: dict[int, list[str]] = {}
    for m in messages:
        if m.get("item"):
            changes.setdefault(m["item"]["id"], []).append(m["item"]["status"])
    assert {i["id"] for i in status["items"]} == set(changes)
    assert all(c == ["processing", "completed"] for c in changes.values()), changes

    # Each completion reached the client promptly after the worker wrote it.
    finished = {i["id"]: datetime.fromisoformat(i["finished_at"]).timestamp()
                for i in status["items"]}
    delays = [received - finished[m["item"]["id"]] for received, m in events
              if isinstance(m, dict) and m.get("item", {}).get("status") == "completed"]
    print(f"SSE delay after the item's finished_at: max {max(delays) * 1000:.0f} ms, "
          f"all {[round(d * 1000) for d in delays]} ms")
    assert len(delays) == 3 and max(delays) < 1.0, delays


TOKEN = "s3cret-token-kq3ZtP0v9xWc1mRb"


def test_stream_needs_credentials_sends_heartbeats_and_ends_on_cancel(database, tmp_path):
    with running_api(database, tmp_path, api_token=TOKEN, api_allow_unauthenticated="false",
                     events_heartbeat_seconds="0.2") as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        batch = http.post(f"{server.url}/api/tasks/generate-articles", headers=auth,
                          json={"titles": ["Waiting title"], "category": "guide"}).json()
        url = f"{server.url}/api/tasks/{batch['task_id']}/events"

        assert read_stream(url, []).status_code == 401
        # No token in the URL (it would be logged by every proxy): only the header or the
        # page's session cookie.
        assert read_stream(url, [], params={"token": TOKEN}).status_code == 401
        missing = read_stream(f"{server.url}/api/tasks/nope/events", [], headers=auth)
        assert missing.status_code == 404 and "no batch" in missing.json()["detail"]

        # Nobody works on it (no worker): the stream stays open with heartbeats. Read until
        # two have come (not for a fixed second, which a busy machine spends on the snapshot);
        # a stream that ended or went quiet instead fails here (the read times out).
        def pings(events: list[Event]) -> int:
            return sum(1 for _, e in events if e == ": ping")

        events: list[Event] = []
        read_stream(url, events, headers=auth, until=lambda events: pings(events) >= 2)
        assert data(events)[0]["status"] == "pending"
        assert pings(events) >= 2, events

        # A cancel ends it: waiting items are cancelled at once and the batch is final.
        events = []
        reader = threading.Thread(target=read_stream, args=(url, events),
                                  kwargs={"headers": auth}, daemon=True)
        reader.start()
        wait_for(lambda: data(events), timeout=15, message="the first snapshot")
        assert http.post(f"{server.url}/api/tasks/{batch['task_id']}/cancel",
                         headers=auth).status_code == 202
        reader.join(timeout=15)
        assert not reader.is_alive()
        last = data(events)[-1]
        assert last["status"] == "cancelled" and last["items"][0]["status"] == "cancelled"
        server.stop()
        log = server.log_path.read_text()
    assert TOKEN not in log


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_without_pubsub_the_stream_polls_the_database(database, tmp_path, start_worker):
    # The API cannot reach Redis for events (a closed port); the workers can.
    with running_api(database, tmp_path, redis_url="redis://127.0.0.1:9/0",
                     events_poll_seconds="0.2") as server:
        _batch, events = listen_to_a_batch(server.url, ["Polled one", "Polled two"],
                                           start_worker)
    messages = data(events)
    assert {m["type"] for m in messages} == {"snapshot"} and len(messages) >= 3
    assert messages[-1]["status"] == "completed" and messages[-1]["current"] == 2
    currents = [m["current"] for m in messages]
    assert currents == sorted(currents)
