"""Helpers for the webhook tests: a subscription through the API, the delivery log, checks."""

from __future__ import annotations

from typing import Any

from standardwebhooks import Webhook

from tests.support.stack import wait_for


def subscribe(api: Any, url: str, events: list[str]) -> tuple[str, str]:
    """(subscription id, secret) of a new subscription."""
    response = api.post("/api/webhooks", json={"url": url, "events": events,
                                               "description": "tests 测试"})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["secret"]


def deliveries(api: Any, subscription_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/webhooks/{subscription_id}/deliveries", params={"limit": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def wait_delivery(api: Any, subscription_id: str, status: str, count: int = 1,
                  timeout: float = 60) -> list[dict[str, Any]]:
    """Wait until `count` deliveries of the subscription have `status`; returns them all."""
    def reached() -> list[dict[str, Any]] | None:
        rows = deliveries(api, subscription_id)
        return rows if sum(r["status"] == status for r in rows) >= count else None

    return wait_for(reached, timeout=timeout, interval=0.2,  # type: ignore[no-any-return]
                    message=f"{count} {status} deliveries")


def verified(secret: str, request: dict[str, Any]) -> dict[str, Any]:
    """The body of a recorded request, after the standardwebhooks library verified it."""
    return Webhook(secret).verify(request["body"], request["headers"])  # type: ignore[no-any-return]
