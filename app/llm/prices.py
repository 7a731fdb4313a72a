"""What an LLM call costs: a price table per model, from genai-prices, overridable by LLM_PRICES.

    price_for("openai", "gpt-4o-mini")          -> Price(input=0.15, output=0.6,
                                                         batch_input=0.075, batch_output=0.3)
    cost_usd("openai", "gpt-4o-mini", 1200, 800)               -> 0.00066
    cost_usd("openai", "gpt-4o-mini", 1200, 800, lane="batch") -> 0.00033
    worst_case_cost("openai", "gpt-4o-mini", 1200, 1500)       -> what a budget reserves

Where a price comes from, first match wins:

1. the offline writer (`offline`, `offline-placeholder`) costs 0;
2. the `LLM_PRICES` setting, by model name (case-insensitive; "gpt-4o-mini" also covers the dated
   "gpt-4o-mini-2024-07-18" that the API reports); its `batch_*` default to the real-time prices;
3. the pinned `genai-prices` table. This service speaks the OpenAI API, so the providers
   "openai" and "openai-compatible" are looked up as OpenAI's models (a proxy in front of OpenAI
   is priced right; a self-hosted model is unknown there, and LLM_PRICES prices it). Any other
   provider name is passed to genai-prices as its provider id.

An unknown model is not an error: `price_for` returns None, costs are None, and one warning per
model says that LLM_PRICES fixes it. Lookups are cached (per model, per UTC day, since the table
has prices that change on a date).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from app.config import get_settings

log = logging.getLogger(__name__)

Lane = Literal["realtime", "batch"]
LANES: tuple[Lane, ...] = ("realtime", "batch")

# The offline writer's provider names (the setting, and the name it stores on its articles).
OFFLINE_PROVIDERS = frozenset({"offline", "offline-placeholder"})
# Our provider names -> genai-prices provider ids; others are passed through unchanged.
GENAI_PROVIDER = {"openai": "openai", "openai-compatible": "openai"}
# genai-prices 0.0.73 has no Batch API prices (its data lists only real-time units). OpenAI's
# Batch API is documented at 50 % of the real-time price for input and output, so OpenAI
# models get that; for other providers, with no known discount, batch = real time (a budget
# must not under-count).
OPENAI_BATCH_DISCOUNT = 0.5
TOKENS_PER_PRICE = 1_000_000  # prices are USD per 1M tokens


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens, real time and through the Batch API."""

    input: float
    output: float
    batch_input: float
    batch_output: float
    source: str = "genai-prices"  # or "LLM_PRICES", "offline"

    def rates(self, lane: Lane = "realtime") -> tuple[float, float]:
        """(input, output) USD per 1M tokens on `lane`."""
        if lane == "batch":
            return self.batch_input, self.batch_output
        if lane == "realtime":
            return self.input, self.output
        raise ValueError(f"unknown lane {lane!r}; expected one of {LANES}")

    def cost(self, prompt_tokens: int, completion_tokens: int, lane: Lane = "realtime") -> float:
        """USD for this many tokens on `lane`."""
        rate_in, rate_out = self.rates(lane)
        usd = (max(0, prompt_tokens) * rate_in + max(0, completion_tokens) * rate_out)
        return round(usd / TOKENS_PER_PRICE, 12)


FREE = Price(0.0, 0.0, 0.0, 0.0, source="offline")


def price_for(provider: str, model: str) -> Price | None:
    """The model's prices, or None (logged once per model) when nothing prices it."""
    if provider in OFFLINE_PROVIDERS:
        return FREE
    overrides = get_settings().llm_prices
    price = _lookup(provider, model.strip(), _freeze(overrides), _today())
    if price is None:
        _warn_unknown(provider, model)
    return price


def cost_usd(provider: str, model: str, prompt_tokens: int, completion_tokens: int,
             lane: Lane = "realtime") -> float | None:
    """USD one call cost, or None for a model with no price."""
    price = price_for(provider, model)
    return None if price is None else price.cost(prompt_tokens, completion_tokens, lane)


def worst_case_cost(provider: str, model: str, prompt_tokens: int, max_output_tokens: int,
                    lane: Lane = "realtime") -> float | None:
    """The most one call can cost: the prompt plus every output token it may write. What a
    budget reserves before the call; None for a model with no price."""
    return cost_usd(provider, model, prompt_tokens, max_output_tokens, lane)


def clear_cache() -> None:
    """Forget cached lookups and which unknown models were already logged (tests, reloads)."""
    _lookup.cache_clear()
    with _warned_lock:
        _warned.clear()


# -- internals -------------------------------------------------------------------------------

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def _warn_unknown(provider: str, model: str) -> None:
    with _warned_lock:
        if (provider, model) in _warned:
            return
        _warned.add((provider, model))
    example = json.dumps({model: {"input": 0.15, "output": 0.6}})
    log.warning("no price for model %r (provider %s): its cost is recorded as null; "
                "set LLM_PRICES='%s' (USD per 1M tokens) to price it", model, provider, example)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _freeze(overrides: dict[str, dict[str, float]]) -> str:
    """The overrides as a hashable cache key, so a changed setting is never served stale."""
    return json.dumps(overrides, sort_keys=True) if overrides else ""


@lru_cache(maxsize=1024)
def _lookup(provider: str, model: str, overrides: str, day: dt.date) -> Price | None:
    if overrides and (price := _from_overrides(json.loads(overrides), model)) is not None:
        return price
    return _from_genai_prices(provider, model, day)


def _from_overrides(overrides: dict[str, dict[str, float]], model: str) -> Price | None:
    """The LLM_PRICES entry named `model`, else the longest one of which it is a dated variant
    ("gpt-4o-mini" for "gpt-4o-mini-2024-07-18")."""
    by_name = {name.lower(): entry for name, entry in overrides.items()}
    name = model.lower()
    entry = by_name.get(name)
    if entry is None:
        prefixes = [n for n in by_name if name.startswith(n + "-")]
        if not prefixes:
            return None
        entry = by_name[max(prefixes, key=len)]
    rate_in, rate_out = float(entry["input"]), float(entry["output"])
    return Price(rate_in, rate_out, float(entry.get("batch_input", rate_in)),
                 float(entry.get("batch_output", rate_out)), source="LLM_PRICES")


def _from_genai_prices(provider: str, model: str, day: dt.date) -> Price | None:
    # Imported on first use: the price snapshot is parsed at import (most runs never need it).
    from genai_prices import data_snapshot

    provider_id = GENAI_PROVIDER.get(provider, provider)
    snapshot = data_snapshot.get_snapshot()
    try:
        found_provider, info = snapshot.find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    when = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    prices = info.get_prices(when)
    rate_in, rate_out = _rate(prices.input_mtok), _rate(prices.output_mtok)
    if rate_in is None or rate_out is None:  # e.g. priced per request: not a token model
        return None
    discount = OPENAI_BATCH_DISCOUNT if found_provider.id == "openai" else 1.0
    return Price(rate_in, rate_out, rate_in * discount, rate_out * discount)


def _rate(value: Any) -> float | None:
    """A genai-prices price as float USD per 1M tokens. Tiered prices apply above a prompt size
    (128k-272k tokens) that an article prompt never reaches, so the base tier is used."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    base = getattr(value, "base", None)  # TieredPrices
    return float(base) if base is not None else None
