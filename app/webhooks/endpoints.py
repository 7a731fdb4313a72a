"""/api/webhooks: subscriptions, their delivery logs, redeliver and a test ping. Admins only.
Thin: the logic is in app.webhooks.service, the commit at the end of the request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.core.auth import SessionDep
from app.core.schemas import (
    MAX_INT_ID,
    MAX_STR_ID_LENGTH,
    STR_ID_PATTERN,
    limit_query,
    offset_query,
)
from app.webhooks import service
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionWithSecret,
)

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
ADMIN = [allow(Permission.ADMIN)]
SubscriptionId = Annotated[str, Path(min_length=1, max_length=MAX_STR_ID_LENGTH,
                                     pattern=STR_ID_PATTERN)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_INT_ID)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such subscription"}}


def _out(subscription: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(subscription)


def _with_secret(subscription: WebhookSubscription, secret: str) -> SubscriptionWithSecret:
    return SubscriptionWithSecret(**_out(subscription).model_dump(), secret=secret)


def _delivery(row: WebhookDelivery, attempts: list[Any]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id, event_id=row.event_id, event_type=row.event_type, status=row.status,
        attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_error=row.last_error,
        created_at=row.created_at, delivered_at=row.delivered_at,
        attempt_log=[AttemptOut.model_validate(a) for a in attempts])


@router.get("", response_model=SubscriptionList, dependencies=ADMIN)
def list_subscriptions(session: SessionDep) -> SubscriptionList:
    """Every subscription, oldest first (secrets are never listed)."""
    items = [_out(s) for s in service.list_subscriptions(session)]
    return SubscriptionList(items=items, total=len(items))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionWithSecret,
             dependencies=ADMIN)
def create_subscription(body: SubscriptionIn, session: SessionDep,
                        response: Response) -> SubscriptionWithSecret:
    """Subscribe a URL to events. The answer carries the signing secret, this once."""
    subscription, secret = service.create(
        session, url=body.url, events=body.events,
        description=body.description, enabled=body.enabled)
    response.headers["Location"] = f"/api/webhooks/{subscription.id}"
    return _with_secret(subscription, secret)


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=NOT_FOUND,
            dependencies=ADMIN)
def get_subscription(subscription_id: SubscriptionId, session: SessionDep) -> SubscriptionOut:
    return _out(service.get(session, subscription_id))


@router.patch("/{subscription_id}", response_model=SubscriptionOut, responses=NOT_FOUND,
              dependencies=ADMIN)
def update_subscription(subscription_id: SubscriptionId, body: SubscriptionPatch,
                        session: SessionDep) -> SubscriptionOut:
    """Change url, events, description or enabled (fields left out keep their value)."""
    changes = body.model_dump(exclude_unset=True)
    return _out(service.update(session, subscription_id, changes))


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=NOT_FOUND, dependencies=ADMIN)
def delete_subscription(subscription_id: SubscriptionId, session: SessionDep) -> Response:
    """Forget the subscription and its delivery log; nothing more is sent to it."""
    service.delete(session, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{subscription_id}/rotate-secret", response_model=SubscriptionWithSecret,
             responses=NOT_FOUND, dependencies=ADMIN)
def rotate_secret(subscription_id: SubscriptionId,
                  session: SessionDep) -> SubscriptionWithSecret:
    """A new signing secret, used from the next attempt on; shown this once."""
    return _with_secret(*service.rotate_secret(session, subscription_id))


@router.get("/{subscription_id}/deliveries", response_model=DeliveryPage, responses=NOT_FOUND,
            dependencies=ADMIN)
def list_deliveries(subscription_id: SubscriptionId, session: SessionDep,
                    offset: int = offset_query(), limit: int = limit_query(20, 100)
                    ) -> DeliveryPage:
    """The delivery log, newest first: each event's status and its latest attempts."""
    rows, total = service.deliveries(session, subscription_id, offset=offset, limit=limit)
    return DeliveryPage(items=[_delivery(r, a) for r, a in rows], total=total, offset=offset,
                        limit=limit)


@router.get("/{subscription_id}/deliveries/{delivery_id}", response_model=DeliveryOut,
            responses=NOT_FOUND, dependencies=ADMIN)
def get_delivery(subscription_id: SubscriptionId, delivery_id: DeliveryId,
                 session: SessionDep) -> DeliveryOut:
    """One delivery and its latest attempts."""
    return _delivery(*service.delivery(session, subscription_id, delivery_id))


def _accepted(row: WebhookDelivery, response: Response) -> DeliveryOut:
    response.headers["Location"] = f"/api/webhooks/{row.subscription_id}/deliveries/{row.id}"
    return _delivery(row, [])


@router.post("/{subscription_id}/deliveries/{delivery_id}/redeliver",
             status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut,
             responses={**NOT_FOUND, 409: {"description": "The subscription is disabled"}},
             dependencies=ADMIN)
def redeliver(subscription_id: SubscriptionId, delivery_id: DeliveryId, session: SessionDep,
              response: Response) -> DeliveryOut:
    """Send the event again now, with the same `webhook-id` and body."""
    return _accepted(service.redeliver(session, subscription_id, delivery_id), response)


@router.post("/{subscription_id}/test", status_code=status.HTTP_202_ACCEPTED,
             response_model=DeliveryOut, responses=NOT_FOUND, dependencies=ADMIN)
def send_test(subscription_id: SubscriptionId, session: SessionDep,
              response: Response) -> DeliveryOut:
    """Send a `webhook.test` ping to this subscription (it appears in the delivery log)."""
    return _accepted(service.send_test(session, subscription_id), response)
