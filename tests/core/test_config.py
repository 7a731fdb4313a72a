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


def _example_values() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text()
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, re.M))


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the test session's environment: only the file under test counts."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_every_value_in_env_example_is_what_loads(bare_environment):
    loaded = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    values = _example_values()
    assert len(values) >= 30
    for name, raw in values.items():
        expected = Settings(_env_file=None, **{name.lower(): raw})  # type: ignore[call-arg]
        assert getattr(loaded, name.lower()) == getattr(expected, name.lower()), name


def test_every_setting_is_read_from_a_dotenv_file(bare_environment, tmp_path):
    """Each uncommented setting, changed in a .env file, changes what the class reads."""
    changed = {}
    for name, raw in _example_values().items():
        field = Settings.model_fields[name.lower()]
        if field.annotation is int:
            changed[name] = str(int(raw) + 7)
        elif field.annotation is float:
            changed[name] = str(float(raw) * 0.5 + 0.3)
        elif raw in ("true", "false"):
            changed[name] = "false" if raw == "true" else "true"
    changed.pop("CELERY_TASK_SOFT_TIME_LIMIT", None)  # must stay below the hard limit
    changed.pop("CELERY_TASK_TIME_LIMIT", None)
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in changed.items()))
    loaded = Settings(_env_file=env)  # type: ignore[call-arg]
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert len(changed) >= 20
    for name in changed:
        assert getattr(loaded, name.lower()) != getattr(default, name.lower()), name
