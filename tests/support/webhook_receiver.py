"""A webhook receiver in its own process: records every request, and can be told to fail.

`python -m tests.support.webhook_receiver PORT` serves:
  POST /_control  {"fail": N, "status": 500, "retry_after": "3", "hang": 5, "redirect": URL}
                  the next N requests (every one when N is -1) answer `status` (with
                  Retry-After when given, after `hang` seconds, or a 302 to `redirect`);
                  or {"plan": [{...}, {...}]}: one such answer per request, in order
  GET  /_requests every request recorded so far: path, headers, body (text), time
  anything else   recorded, then answered as told (200 "ok" by default)
`WebhookReceiver` starts, stops and restarts it on one port (a receiver that is down).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port
from tests.support.stack import ROOT, wait_for

_lock = threading.Lock()
_requests: list[dict[str, Any]] = []
_plan: list[dict[str, Any]] = []  # the next requests' failures, in order
_forever: dict[str, Any] = {}  # a failure every request gets (fail = -1)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: bytes = b"ok", headers: dict[str, str] | None = None
               ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/_requests":
            with _lock:
                body = json.dumps(_requests).encode()
            self._reply(200, body, {"Content-Type": "application/json"})
        else:
            self._reply(404, b"not here")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_control":
            _control(json.loads(body))
            self._reply(200)
            return
        with _lock:
            _requests.append({"path": self.path, "headers": dict(self.headers.items()),
                              "body": body.decode("utf-8", "replace"), "at": time.time()})
            mode = _plan.pop(0) if _plan else dict(_forever)
        if not mode:
            self._reply(200, "ok 好".encode())
            return
        if mode.get("hang"):
            time.sleep(float(mode["hang"]))
        if mode.get("redirect"):
            self._reply(302, b"moved", {"Location": mode["redirect"]})
            return
        headers = {"Retry-After": str(mode["retry_after"])} if mode.get("retry_after") else {}
        self._reply(int(mode.get("status", 500)), b"x" * 5000, headers)


def _control(order: dict[str, Any]) -> None:
    fail = int(order.pop("fail", 0))
    plan = order.pop("plan", None)
    with _lock:
        _plan[:] = plan if plan is not None else [order] * max(fail, 0)
        _forever.clear()
        if fail < 0:
            _forever.update(order)


class WebhookReceiver:
    def __init__(self, logdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/hook"
        self.log_path = logdir / f"receiver-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WebhookReceiver:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.webhook_receiver", str(self.port)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._up, timeout=30, interval=0.05, message="the webhook receiver")
        return self

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.base}/_requests", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)

    def behave(self, **mode: Any) -> None:
        httpx.post(f"{self.base}/_control", json=mode, timeout=5).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.base}/_requests", timeout=5).json())

    def events(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        return [json.loads(r["body"]) for r in self.requests()]


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()
