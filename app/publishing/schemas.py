"""Request and response shapes of targets and publications, with their bounds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from app.batches.validation import LINE_PATTERN
from app.core.schemas import OutModel
from app.publishing.enums import AutoPublish, PostStatus, PublicationState, UnpublishAction
from app.publishing.targets import URL_PATTERN

# One line, not only spaces, no control characters (the domain checks the pattern again).
_LINE = {"pattern": LINE_PATTERN}
Name = Annotated[StrictStr, Field(min_length=1, max_length=100, json_schema_extra=_LINE,
                                  description="Any name, unique among targets")]
BaseUrl = Annotated[StrictStr, Field(min_length=8, max_length=500,
                                     json_schema_extra={"pattern": URL_PATTERN})]
User = Annotated[StrictStr, Field(min_length=1, max_length=60, json_schema_extra=_LINE,
                                  description="The WordPress user posts are made as")]
Password = Annotated[StrictStr, Field(
    min_length=1, max_length=200, json_schema_extra=_LINE,
    description="An Application Password of that user (Users > Profile). Stored, never "
    "returned.")]
CategoryKey = Annotated[StrictStr, Field(min_length=1, max_length=64, json_schema_extra=_LINE,
                                         description="Our category")]
CategoryValue = Annotated[StrictStr, Field(
    min_length=1, max_length=200, json_schema_extra=_LINE,
    description="The WordPress category's name or slug: created when missing")]


class CategoryPair(BaseModel):
    """Our category, and the WordPress category (name or slug) its articles go to."""

    model_config = ConfigDict(extra="forbid")

    category: CategoryKey
    wordpress: CategoryValue


CategoryMap = Annotated[list[CategoryPair], Field(
    max_length=200, description="Where our categories go; an unmapped category is sent under "
    "its own name", examples=[[{"category": "guide", "wordpress": "Guides"}]])]


def pairs(mapping: dict[str, str]) -> list[CategoryPair]:
    return [CategoryPair(category=k, wordpress=v) for k, v in mapping.items()]


class TargetPatch(BaseModel):
    """Any field; omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    base_url: BaseUrl | None = Field(None, description="The site's address, e.g. "
                                     "https://blog.example.com (without /wp-json)")
    username: User | None = None
    app_password: Password | None = None
    default_status: PostStatus | None = None
    category_map: CategoryMap | None = None
    unpublish_action: UnpublishAction | None = None
    auto_publish: AutoPublish | None = None
    require_https: StrictBool | None = Field(None, description="Refuse to send the password over "
                                       "plain HTTP (default: true except for loopback)")


class TargetIn(TargetPatch):
    name: Name
    base_url: BaseUrl
    username: User
    app_password: Password
    default_status: PostStatus = PostStatus.DRAFT
    unpublish_action: UnpublishAction = UnpublishAction.DRAFT
    auto_publish: AutoPublish = AutoPublish.MANUAL


class TargetOut(OutModel):
    id: int
    name: str
    base_url: str
    username: str
    has_password: bool = Field(True, description="The password itself is never returned")
    default_status: PostStatus
    category_map: list[CategoryPair]
    unpublish_action: UnpublishAction
    auto_publish: AutoPublish
    require_https: bool
    rest_route_fallback: bool = Field(description="Plain permalinks: the API is reached "
                                      "through ?rest_route= (set by the connection test)")
    created_at: datetime
    updated_at: datetime


class TargetPage(BaseModel):
    items: list[TargetOut]
    total: int
    limit: int
    offset: int


class ProblemOut(BaseModel):
    code: str = Field(description="no_https, bad_password, rest_disabled, rest_blocked, "
                      "plain_permalinks, cannot_publish, unreachable")
    message: str
    severity: str = Field(description="error, or warning (publishing works)")


class ConnectionOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]
    user: str | None
    can_publish: bool | None
    permalinks: str | None = Field(description="pretty (/wp-json/) or plain (?rest_route=)")
    seo: str | None = Field(description="The SEO plugin whose meta we set (Yoast SEO, Rank "
                            "Math), or null: SEO fields are skipped")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: PostStatus | None = Field(None, description="Default: the target's")
    date_gmt: datetime | None = Field(
        None, description="UTC. Required with status future, and must be in the future "
        "(WordPress would publish a past one at once: refused here)")


class PublicationOut(OutModel):
    id: int
    article_id: int
    target_id: int
    target_name: str
    state: PublicationState
    requested_status: PostStatus | None
    date_gmt: datetime | None
    remote_id: int | None
    remote_url: str | None
    remote_status: str | None
    last_error: str | None
    note: str | None
    attempts: int
    version_sent: int | None
    requested_at: datetime
    sent_at: datetime | None
    updated_at: datetime


class PublicationList(BaseModel):
    items: list[PublicationOut]
