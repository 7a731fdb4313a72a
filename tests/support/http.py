"""httpx for talking to the servers a test starts, with a bound that suits a busy machine.

httpx's own default gives up on a request after 5 s. A uvicorn sharing two cores with other
work can take longer than that to answer its first request (lazy imports, the first database
and broker connections), and a test then fails on the timeout, not on what it checks. These
wrappers only change that default: a request still returns as soon as it is answered.
"""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT = httpx.Timeout(60, connect=10)


def _bounded(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("timeout", TIMEOUT)
    return kwargs


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, **_bounded(kwargs))


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, **_bounded(kwargs))


def patch(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.patch(url, **_bounded(kwargs))


def client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(**_bounded(kwargs))
