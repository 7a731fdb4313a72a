"""Prices per model: genai-prices' table, LLM_PRICES over it, 0 offline, None when unknown."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.llm import prices
from app.llm.prices import Price, cost_usd, price_for, worst_case_cost
from tests.support.stack import use_settings


@pytest.fixture(autouse=True)
def _fresh_prices() -> Iterator[None]:
    prices.clear_cache()
    yield
    use_settings(llm_prices=None)
    prices.clear_cache()


def test_openai_models_come_from_genai_prices_with_the_batch_discount():
    price = price_for("openai", "gpt-4o-mini")
    assert price == Price(input=0.15, output=0.6, batch_input=0.075, batch_output=0.3)
    # The dated name the API reports, and an OpenAI-compatible proxy, price the same.
    assert price_for("openai", "gpt-4o-mini-2024-07-18") == price
    assert price_for("openai-compatible", "gpt-4o-mini") == price
    assert price_for("openai", "gpt-4o") == Price(2.5, 10.0, 1.25, 5.0)


def test_cost_is_tokens_times_the_lane_price():
    # 1200 prompt tokens at $0.15/M + 800 completion tokens at $0.60/M
    assert cost_usd("openai", "gpt-4o-mini", 1200, 800) == pytest.approx(0.00066, abs=1e-12)
    assert cost_usd("openai", "gpt-4o-mini", 1200, 800, lane="batch") == pytest.approx(
        0.00033, abs=1e-12)
    assert cost_usd("openai", "gpt-4o-mini", 0, 0) == 0
    with pytest.raises(ValueError, match="lane"):
        cost_usd("openai", "gpt-4o-mini", 1, 1, lane="night")  # type: ignore[arg-type]


def test_worst_case_is_the_prompt_plus_every_allowed_output_token():
    assert worst_case_cost("openai", "gpt-4o", 1000, 1500) == pytest.approx(
        (1000 * 2.5 + 1500 * 10.0) / 1e6, abs=1e-12)
    assert worst_case_cost("openai", "gpt-4o", 1000, 1500, "batch") == pytest.approx(
        (1000 * 1.25 + 1500 * 5.0) / 1e6, abs=1e-12)
    assert worst_case_cost("openai", "no-such-model", 1000, 1500) is None


def test_the_offline_writer_is_free():
    for name in ("offline", "offline-placeholder"):
        assert price_for(name, "offline-placeholder") == prices.FREE
        assert cost_usd(name, "anything", 10_000, 10_000, "batch") == 0.0


def test_an_unknown_model_costs_none_and_is_logged_once(caplog):
    caplog.set_level(logging.WARNING, logger="app.llm.prices")
    assert price_for("openai-compatible", "llama3.1:8b") is None
    assert cost_usd("openai-compatible", "llama3.1:8b", 100, 100) is None
    assert cost_usd("openai-compatible", "llama3.1:8b", 5, 5, "batch") is None
    lines = [r.getMessage() for r in caplog.records if "llama3.1:8b" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "LLM_PRICES" in lines[0] and "null" in lines[0]
    assert cost_usd("openai-compatible", "mistral-7b", 1, 1) is None  # another model: its own
    assert sum("mistral-7b" in r.getMessage() for r in caplog.records) == 1


def test_llm_prices_prices_unlisted_models_and_overrides_the_table():
    use_settings(llm_prices='{"llama3.1:8b": {"input": 0.1, "output": 0.2}, '
                            '"gpt-4o-mini": {"input": 1, "output": 2, "batch_input": 0.25, '
                            '"batch_output": 0.5}}')
    # batch_* default to the real-time prices when not given.
    assert price_for("openai-compatible", "llama3.1:8b") == Price(0.1, 0.2, 0.1, 0.2,
                                                                  source="LLM_PRICES")
    assert price_for("openai", "gpt-4o-mini") == Price(1.0, 2.0, 0.25, 0.5, source="LLM_PRICES")
    # A name covers its dated variants; other models still come from genai-prices.
    assert price_for("openai", "GPT-4o-mini-2024-07-18") == price_for("openai", "gpt-4o-mini")
    assert price_for("openai", "gpt-4o").source == "genai-prices"  # type: ignore[union-attr]
    assert cost_usd("openai-compatible", "llama3.1:8b", 1_000_000, 1_000_000) == pytest.approx(
        0.3)
    # Changing the setting is seen at once, cache or not.
    use_settings(llm_prices=None)
    assert price_for("openai-compatible", "llama3.1:8b") is None


@pytest.mark.parametrize("value", [
    '{"m": {"input": 1}}',  # no output price
    '{"m": {"input": 1, "output": 2, "cached": 1}}',  # an unknown field
    '{"m": {"input": -1, "output": 2}}',
    '{"m": 3}',
    "not json",
])
def test_invalid_llm_prices_are_refused_at_startup(value):
    with pytest.raises(ValidationError, match="llm_prices"):
        Settings(_env_file=None, llm_prices=value)  # type: ignore[call-arg]


def test_lookups_are_cached(monkeypatch):
    from genai_prices import data_snapshot

    calls = []
    real = data_snapshot.DataSnapshot.find_provider_model

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(data_snapshot.DataSnapshot, "find_provider_model", counting)
    for _ in range(5):
        cost_usd("openai", "gpt-4.1-nano", 10, 10)
        cost_usd("openai", "unknown-model-x", 10, 10)
    assert calls == ["gpt-4.1-nano", "unknown-model-x"]
