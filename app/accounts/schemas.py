"""Request and response shapes of /api/login, /api/me, /api/users and /api/tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.models import DISPLAY_NAME_MAX, NAME_MAX, TOKEN_NAME_MAX
from app.accounts.permissions import Permission, Role
from app.accounts.service import NAME_PATTERN, PASSWORD_MAX, PASSWORD_MIN, TOKEN_DAYS_MAX
from app.core.schemas import OutModel

Name = Field(min_length=2, max_length=NAME_MAX, pattern=NAME_PATTERN,
             description="Letters, digits, '.', '_' or '-'; unique whatever the case")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class MeOut(OutModel):
    name: str
    display_name: str | None = None
    role: Role
    via: str = Field(description="session, token, api_token or anonymous")
    token_prefix: str | None = None
    permissions: list[Permission]


class UserIn(_In):
    name: str = Name
    role: Role = Role.EDITOR
    display_name: str | None = Field(None, max_length=DISPLAY_NAME_MAX,
                                     description="Any script, e.g. 张伟")
    password: str | None = Field(None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX,
                                 description=f"At least {PASSWORD_MIN} characters, not a "
                                 "placeholder; none: the user signs in with tokens only")


class UserPatch(_In):
    role: Role | None = None
    display_name: str | None = Field(None, max_length=DISPLAY_NAME_MAX,
                                     description="'' clears it")
    disabled: bool | None = Field(None, description="true ends their sessions and revokes "
                                  "their tokens at once")
    password: str | None = Field(None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX,
                                 description="A new password; ends their sessions")


class UserOut(OutModel):
    id: int
    name: str
    display_name: str | None
    role: Role
    disabled: bool
    has_password: bool
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=TOKEN_NAME_MAX,
                      description="What it is for: 'laptop CLI', 'Prometheus', '发布脚本'")
    scopes: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=5,
                              description="Extra grants: `ops` (health details, /metrics)")
    expires_in_days: int | None = Field(90, ge=1, le=TOKEN_DAYS_MAX,
                                        description="null: never expires")


class TokenOut(OutModel):
    id: int
    user: str
    prefix: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None
    live: bool


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself: shown in this answer only, never again")


class TokenList(BaseModel):
    items: list[TokenOut]
    total: int
