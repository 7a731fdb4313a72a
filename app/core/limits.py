"""Refuse request bodies over MAX_BODY_BYTES before they are read into memory."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        # A declared length over the limit is refused when the route first reads the body,
        # before anything of it is read: after routing, so the answer is counted under its
        # route (app.ops.http_metrics), and a route that reads no body is not refused.
        declared_too_big = (
            declared is not None and declared.isdigit() and int(declared) > self.max_bytes)
        seen = 0
        too_big = False

        async def limited_receive() -> Any:
            nonlocal seen, too_big
            if declared_too_big:
                too_big = True
                raise _TooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(
            {
                "detail": f"body: the request body is larger than {self.max_bytes} bytes",
                "errors": [{"field": "body", "message": f"larger than {self.max_bytes} bytes"}],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """Raised from `receive` for a chunked body that grows past the limit. An HTTPException, so
    FastAPI answers it as a 413 instead of "There was an error parsing the body" (400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"body: the request body is larger than {max_bytes} bytes")
