"""The settings contract: .env.example documents every setting, and its values load."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from app.config import ROOT, Settings


def _example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", text, re.M))


def test_env_example_lists_every_setting():
    assert {name.upper() for name in Settings.model_fields} <= _example_names()


def test_env_example_values_are_valid():
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert settings.celery_task_time_limit == 1800
    assert settings.celery_task_soft_time_limit == 1500
    assert settings.llm_provider == "offline"


def test_provider_follows_the_openai_settings():
    assert Settings(_env_file=None, openai_base_url="http://x/v1").llm_provider == "openai"
    assert Settings(_env_file=None, openai_api_key=" ").llm_provider == "offline"


def test_soft_limit_must_stay_below_the_hard_limit():
    with pytest.raises(ValidationError, match="SOFT_TIME_LIMIT"):
        Settings(_env_file=None, celery_task_time_limit=60, celery_task_soft_time_limit=60)


def test_only_json_is_accepted_on_the_queue():
    with pytest.raises(ValidationError):
        Settings(_env_file=None, celery_task_serializer="pickle")  # type: ignore[arg-type]
