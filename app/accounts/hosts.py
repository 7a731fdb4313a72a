"""The Host allow-list (API_ALLOWED_HOSTS): a request naming another host gets 400.

A page on an attacker's domain that resolves to this server's address (DNS rebinding) sends
its own name as Host; refusing unknown names keeps such pages away from the API, whatever
authentication is on. Read per request, so a settings change in tests applies at once.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import get_settings


def host_name(host: str) -> str:
    """`example.com:8000` → `example.com`, `[::1]:8000` → `[::1]`, lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed(host: str, allowed_hosts: list[str]) -> bool:
    return "*" in allowed_hosts or host_name(host) in allowed_hosts


class AllowedHosts:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if not allowed(host, get_settings().api_allowed_hosts):
                await _refuse(host, send)
                return
        await self.app(scope, receive, send)


async def _refuse(host: str, send: Send) -> None:
    message = f"Host {host[:100]!r} is not in API_ALLOWED_HOSTS"
    body = json.dumps({"detail": f"host: {message}",
                       "errors": [{"field": "host", "message": message}]}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
