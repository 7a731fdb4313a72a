"""Request and response models of the profile API (the limits are the domain's: the service
checks them and names the field at fault)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from app.core.schemas import OutModel
from app.profiles.service import BOUNDS, MAX_INSTRUCTIONS


def _bounded(name: str, description: str) -> Any:
    low, high = BOUNDS[name]
    return Field(None, description=description,
                 json_schema_extra={"minimum": low, "maximum": high})


Number = StrictFloat | StrictInt


class ProfileFields(BaseModel):
    """A field left out keeps its value (on POST: the value of the profile the category uses
    now); `model` and `temperature` may be null (the configured LLM settings)."""

    model_config = ConfigDict(extra="forbid")

    instructions: StrictStr | None = Field(
        None, description="From the site to the model: audience, tone, required sections, "
        "Markdown conventions.", json_schema_extra={"minLength": 1,
                                                    "maxLength": MAX_INSTRUCTIONS})
    min_words: StrictInt | None = _bounded(
        "min_words", "Shortest article in words (space-separated languages).")
    max_words: StrictInt | None = _bounded(
        "max_words", "Longest article in words.")
    min_chars: StrictInt | None = _bounded(
        "min_chars", "Shortest article in characters (Chinese, Japanese, Korean).")
    max_chars: StrictInt | None = _bounded(
        "max_chars", "Longest article in characters.")
    min_sections: StrictInt | None = _bounded(
        "min_sections", "Least number of ## sections besides the level-1 heading.")
    duplicate_threshold: Number | None = _bounded(
        "duplicate_threshold", "Estimated Jaccard similarity (0..1) to another article of "
        "the category from which an article counts as a near-duplicate.")
    model: StrictStr | None = Field(None, description="Model for this category (null: "
                                    "OPENAI_MODEL).", examples=["gpt-4o-mini"],
                                    json_schema_extra={"maxLength": 128})
    temperature: Number | None = _bounded(
        "temperature", "Sampling temperature (null: LLM_TEMPERATURE).")


class ProfileIn(ProfileFields):
    category: StrictStr = Field(description="The category slug it is for.",
                                examples=["review"],
                                json_schema_extra={"minLength": 1, "maxLength": 64})


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
