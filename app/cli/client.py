"""A small HTTP client of the TrustAgency API, used by the `trustagency` command."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
FINAL = {"completed", "partially_completed", "failed", "cancelled"}
# Watching stops here too: a batch a budget paused waits for a cap to be raised or a new day.
STOP = FINAL | {"paused"}

EXIT_OK, EXIT_NOT_ALL_DONE, EXIT_INPUT, EXIT_UNREACHABLE, EXIT_AUTH, EXIT_REFUSED = range(6)
EXIT_INTERRUPTED = 130


class CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class Interrupted(Exception):
    """Ctrl-C while watching: the batch goes on without us."""

    def __init__(self, task_id: str) -> None:
        super().__init__(task_id)
        self.task_id = task_id


class Api:
    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token or None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self.unreachable(exc) from None
        self.check(response)
        return response.json() if response.content else None  # 204: no body

    def unreachable(self, exc: Exception) -> CliError:
        if isinstance(exc, httpx.ConnectError):
            why = "connection refused" if "refused" in str(exc).lower() else str(exc)
            return CliError(
                f"cannot reach the TrustAgency API at {self.url} ({why}).\n"
                "Is it running? Start it with `make run` (or `trustagency up`) in the project "
                "directory,\nor point --api-url / TRUSTAGENCY_API_URL at the running API.",
                EXIT_UNREACHABLE,
            )
        if isinstance(exc, httpx.TimeoutException):
            return CliError(f"the API at {self.url} did not answer in time ({exc!r})",
                            EXIT_UNREACHABLE)
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return CliError(f"invalid API URL {self.url!r}: {exc}", EXIT_INPUT)
        return CliError(f"talking to the API at {self.url} failed: {exc}", EXIT_UNREACHABLE)

    def check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = body.get("detail") if isinstance(body, dict) else None
        status = response.status_code
        if status == 401:
            if self.token:
                raise CliError("the API refused the token (401): revoked, expired, or not this "
                               "server's. Run `trustagency login` again, or check "
                               "TRUSTAGENCY_API_TOKEN / --token.", EXIT_AUTH)
            raise CliError("the API needs a token (401). Run `trustagency login`, or set "
                           "TRUSTAGENCY_API_TOKEN (or pass --token) to a personal token or "
                           "the server's API_TOKEN.", EXIT_AUTH)
        if status == 422:
            errors = body.get("errors") if isinstance(body, dict) else None
            if errors:
                lines = [f"{e.get('field')}: {e.get('message')}" for e in errors]
                raise CliError("the API rejected the input:\n  " + "\n  ".join(lines),
                               EXIT_INPUT)
            raise CliError(f"the API rejected the input: {detail or response.text}", EXIT_INPUT)
        if status in (400, 404, 413):
            raise CliError(str(detail or f"{status} {response.reason_phrase}"), EXIT_INPUT)
        raise CliError(f"{status} {response.reason_phrase}: {detail or response.text[:300]}",
                       EXIT_REFUSED)

    def events(self, task_id: str) -> Iterable[dict[str, Any]]:
        """The batch's Server-Sent Events until the server ends the stream."""
        timeout = httpx.Timeout(10.0, read=60.0)  # heartbeats come every 15 s
        with self.http.stream("GET", f"/api/tasks/{task_id}/events", timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                self.check(response)
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[6:])


def follow(api: Api, task_id: str, on_update: Callable[[dict[str, Any]], None]) -> dict:
    """Watch a batch until it ends or pauses (live events, else polling /progress); return
    /status."""
    try:
        for event in api.events(task_id):
            on_update(event)
            if (event.get("type") == "snapshot" and event.get("status") in FINAL
                    or event.get("status") == "paused"):
                return api.request("GET", f"/api/tasks/{task_id}/status")
    except (httpx.HTTPError, ValueError):
        pass  # no event stream (a proxy, an older server): poll instead
    while True:
        progress = api.request("GET", f"/api/tasks/{task_id}/progress")
        on_update(progress)
        if progress["status"] in STOP:
            return api.request("GET", f"/api/tasks/{task_id}/status")
        time.sleep(1.0)
