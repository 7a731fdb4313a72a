"""The webhooks domain's errors: one base, and a subclass per failure a caller may catch."""

from __future__ import annotations

from app.core.errors import DomainError


class WebhookError(DomainError):
    """Bad subscription input (422), or the base of the refusals below."""


class SubscriptionNotFound(WebhookError):
    status_code = 404

    def __init__(self, subscription_id: str) -> None:
        super().__init__("id", f"no webhook subscription {subscription_id!r}")
        self.subscription_id = subscription_id


class DeliveryNotFound(WebhookError):
    status_code = 404

    def __init__(self, delivery_id: int) -> None:
        super().__init__("delivery_id", f"no delivery {delivery_id} of this subscription")
        self.delivery_id = delivery_id


class UnsafeUrl(WebhookError):
    """The URL is not http(s), too long, or resolves to an address a webhook may not reach."""

    def __init__(self, message: str) -> None:
        super().__init__("url", message)


class SubscriptionDisabled(WebhookError):
    """Redelivering to a disabled subscription (enable it first; a test ping still goes)."""

    status_code = 409

    def __init__(self, subscription_id: str) -> None:
        super().__init__("enabled", f"webhook subscription {subscription_id!r} is disabled: "
                         "enable it before redelivering")
        self.subscription_id = subscription_id
