"""Request and response models of the profile API (the limits are the domain's: the service
checks them and names the field at fault)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, WithJsonSchema

from app.core.schemas import OutModel, WholeNumber
from app.profiles.service import BOUNDS, CATEGORY_RE, MAX_INSTRUCTIONS, MODEL_RE

# Case is folded and spaces dropped by the service; the schema states the slug it keeps.
CATEGORY_PATTERN = "^ *" + CATEGORY_RE.pattern.strip("^$").replace("a-z", "a-zA-Z") + " *$"


def _range(name: str) -> dict[str, Any]:
    low, high = BOUNDS[name]
    return {"minimum": low, "maximum": high}


# Strict numbers: never a numeric string or a bool. A whole number may come as 10000.0 (JSON
# Schema calls it an integer); the service refuses 3.5 naming the field (WholeNumber).
MinWords = Annotated[WholeNumber, WithJsonSchema({"type": "integer", **_range("min_words")})]
MaxWords = Annotated[WholeNumber, WithJsonSchema({"type": "integer", **_range("max_words")})]
MinChars = Annotated[WholeNumber, WithJsonSchema({"type": "integer", **_range("min_chars")})]
MaxChars = Annotated[WholeNumber, WithJsonSchema({"type": "integer", **_range("max_chars")})]
MinSections = Annotated[WholeNumber, WithJsonSchema({"type": "integer", **_range("min_sections")})]
DuplicateThreshold = Annotated[
    float, Field(strict=True, json_schema_extra=_range("duplicate_threshold"))]
Temperature = Annotated[float, Field(strict=True, json_schema_extra=_range("temperature"))]


# Not blank; tabs and line breaks but no other control characters (the service's rule); the
# non-space character is not a control character either (a bare \S let one through).
Instructions = Annotated[StrictStr, Field(json_schema_extra={
    "minLength": 1, "maxLength": MAX_INSTRUCTIONS,
    "pattern": "^[^\\x00-\\x08\\x0b-\\x1f]*[^\\s\\x00-\\x08\\x0b-\\x1f]"
               "[^\\x00-\\x08\\x0b-\\x1f]*$"})]


class ProfileFields(BaseModel):
    """A field left out keeps its value (on POST: the value of the profile the category uses
    now); `model` and `temperature` may be null (the configured LLM settings)."""

    model_config = ConfigDict(extra="forbid")

    instructions: Instructions = Field(  # type: ignore[assignment]
        None, description="From the site to the model: audience, tone, required sections, "
        "Markdown conventions.")
    min_words: MinWords = Field(  # type: ignore[assignment]
        None, description="Shortest article in words (space-separated languages).")
    max_words: MaxWords = Field(  # type: ignore[assignment]
        None, description="Longest article in words.")
    min_chars: MinChars = Field(  # type: ignore[assignment]
        None, description="Shortest article in characters (Chinese, Japanese, Korean).")
    max_chars: MaxChars = Field(  # type: ignore[assignment]
        None, description="Longest article in characters.")
    min_sections: MinSections = Field(  # type: ignore[assignment]
        None, description="Least number of ## sections besides the level-1 heading.")
    duplicate_threshold: DuplicateThreshold = Field(  # type: ignore[assignment]
        None, description="Estimated Jaccard similarity (0..1) to another article of "
        "the category from which an article counts as a near-duplicate.")
    model: Annotated[StrictStr, Field(json_schema_extra={
        "maxLength": 128, "pattern": "^ *" + MODEL_RE.pattern.strip("^$") + " *$"})] | None = Field(
        None, description="Model for this category (null: OPENAI_MODEL).",
        examples=["gpt-4o-mini"])
    temperature: Temperature | None = Field(
        None, description="Sampling temperature (null: LLM_TEMPERATURE).")


class ProfilePatch(ProfileFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})


class ProfileIn(ProfileFields):
    category: StrictStr = Field(description="The category slug it is for.",
                                examples=["review"],
                                json_schema_extra={"minLength": 1, "maxLength": 200,
                                                   "pattern": CATEGORY_PATTERN})


class ProfileOut(OutModel):
    category: str = Field(description="Whose profile this is: the category's own, or "
                          "`default` for a category without one.")
    builtin: bool = Field(description="True for a built-in default no stored row overrides.")
    id: int | None
    version: int = Field(description="0 for a built-in default; 1 when stored, +1 per change.")
    instructions: str
    min_words: int
    max_words: int
    min_chars: int
    max_chars: int
    min_sections: int
    duplicate_threshold: float
    model: str | None
    temperature: float | None
    created_at: datetime | None
    updated_at: datetime | None


class ProfileList(BaseModel):
    items: Annotated[list[ProfileOut], Field(description="By category")]
    total: int
