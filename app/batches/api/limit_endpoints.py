"""Per-user submit limits (admins): GET and PUT /api/limits/{user_name}. Thin: the rules are
app.batches.limits'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.batches import limits
from app.batches.validation import LINE_PATTERN, OWNER_MAX_LENGTH
from app.core.auth import SessionDep
from app.core.schemas import WholeNumber

router = APIRouter(prefix="/api/limits", tags=["limits"])

# Whole numbers as JSON sends them (3 or 3.0); the domain refuses 3.5 or -1 naming the field.
BatchesLimit = Annotated[WholeNumber, WithJsonSchema(
    {"type": "integer", "minimum": 0, "maximum": limits.MAX_BATCHES})]
TitlesLimit = Annotated[WholeNumber, WithJsonSchema(
    {"type": "integer", "minimum": 0, "maximum": limits.MAX_TITLES})]
UserName = Annotated[str, Path(min_length=1, max_length=OWNER_MAX_LENGTH, pattern=LINE_PATTERN,
                               description="The user (a batch's owner): one line, not only "
                               "spaces, no control characters")]


class LimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_batches_per_hour: BatchesLimit | None = Field(
        None, description="0: unlimited; null: SUBMIT_MAX_BATCHES_PER_HOUR")
    max_titles_per_hour: TitlesLimit | None = Field(
        None, description="0: unlimited; null: SUBMIT_MAX_TITLES_PER_HOUR")


class LimitsOut(BaseModel):
    user_name: str
    max_batches_per_hour: int = Field(description="In force (0: unlimited)")
    max_titles_per_hour: int = Field(description="In force (0: unlimited)")
    batches_override: int | None = Field(description="The user's own; null: the default")
    titles_override: int | None = Field(description="The user's own; null: the default")
    batches_last_hour: int
    titles_last_hour: int


def _out(found: limits.Limits) -> LimitsOut:
    return LimitsOut(**found.__dict__)


@router.get("/{user_name}", response_model=LimitsOut, dependencies=[allow(Permission.ADMIN)])
def get_limits(user_name: UserName, session: SessionDep) -> LimitsOut:
    """The user's submit limits in force, their own overrides, and what they submitted in the
    last hour."""
    return _out(limits.limits_of(session, user_name))


@router.put("/{user_name}", response_model=LimitsOut, dependencies=[allow(Permission.ADMIN)])
def put_limits(user_name: UserName, body: LimitsIn, session: SessionDep) -> LimitsOut:
    """Set the user's own hourly limits (both fields: null puts the default back)."""
    return _out(limits.set_limits(session, user_name, max_batches=body.max_batches_per_hour,
                                  max_titles=body.max_titles_per_hour))
