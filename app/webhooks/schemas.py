"""Request and response models of /api/webhooks (the service checks the values and names the
field at fault; the limits here are for the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, WithJsonSchema

from app.core.schemas import OutModel
from app.webhooks.enums import SUBSCRIBABLE
from app.webhooks.models import MAX_DESCRIPTION, MAX_EXCERPT, MAX_URL

# The limits are stated for the schema; the service checks them and says what is wrong.
Url = Annotated[StrictStr, Field(
    json_schema_extra={"minLength": 1, "maxLength": MAX_URL,
                       "pattern": "^ *[Hh][Tt][Tt][Pp][Ss]?://"},
    description="Where events are POSTed: http or https; private, loopback and link-local "
    "addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true", examples=["https://example.com/hooks"])]
# The service checks each name (and says which is unknown); the schema lists them.
EventName = Annotated[StrictStr, WithJsonSchema({"type": "string",
                                                  "enum": [str(e) for e in SUBSCRIBABLE]})]
Events = Annotated[list[EventName], Field(
    min_length=1, max_length=len(SUBSCRIBABLE),
    description="The events to receive: " + ", ".join(SUBSCRIBABLE))]
Description = Annotated[StrictStr, Field(json_schema_extra={"maxLength": MAX_DESCRIPTION},
                                         description="A note for admins (any language)")]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Events
    description: Description | None = None
    enabled: StrictBool = True


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: StrictBool | None = Field(
        None, description="true enables it again (and clears the reason it was disabled)")


class SubscriptionOut(OutModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    description: str | None
    disabled_reason: str | None = Field(description="Why the service disabled it, if it did")
    failing_since: datetime | None = Field(
        description="The first failed attempt since the last success (null: not failing)")
    created_at: datetime
    updated_at: datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="`whsec_` + base64 (Standard Webhooks): shown only in the "
                        "answer to a create or a rotation; store it now")


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]
    total: int


class AttemptOut(OutModel):
    attempt: int
    started_at: datetime
    succeeded: bool
    http_status: int | None
    latency_ms: int | None
    response_excerpt: str | None = Field(
        description=f"The start of the receiver's answer, at most {MAX_EXCERPT} bytes")
    error: str | None


class DeliveryOut(OutModel):
    id: int
    event_id: str = Field(description="The `webhook-id` header: the same at every attempt")
    event_type: str
    status: str = Field(description="pending, succeeded or failed")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut] = Field(description="The latest attempts, newest first")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    offset: int
    limit: int
