"""What a batch costs and may still spend: each article's cost, the batch's totals and estimate,
and the budget reservation made around every LLM call (the counters are app.batches.spend.budget).

Costs come from app.llm.prices (genai-prices, LLM_PRICES, 0 for the offline writer). Without a
cap, a model with no price is not an error: its articles cost None, the batch counts them in
`cost_unknown` and shows `cost_usd: null` with a note. While a cap applies it is refused
(`unpriced_reason`): at submit (422 naming `model`) and, should it reach a worker anyway (a
profile or LLM_PRICES changed since), before the call, pausing the batch with the reason. A
cap cannot count what it cannot price; LLM_PRICES fixes both.

A worker reserves only when a cap applies to the call (BUDGET_DAILY_USD, BUDGET_MONTHLY_USD or the
batch's max_cost_usd), so an installation without caps spends no Redis round trip on budgets.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import redis

from app.batches import repository
from app.batches.enums import BATCH_FINAL
from app.batches.models import AIGenerationTask
from app.batches.spend import budget
from app.batches.spend.budget import CAP_SETTINGS, Cap, Refusal, Reservation, format_usd
from app.config import get_settings
from app.core.db import session_scope
from app.core.redis import get_redis
from app.llm import prices
from app.llm.base import ArticleRequest, Generated
from app.llm.prompt import build_messages
from app.llm.tokens import estimate_messages

log = logging.getLogger(__name__)

Lane = prices.Lane
DIGITS = 9  # USD shown to the nano-dollar, as the budget counts it
# The batch's extra: the worst-case cost of the call a budget refused (what a resume must fit).
PAUSED_CALL = "paused_call_usd"


@dataclass(frozen=True)
class Summary:
    """A batch's tokens and cost so far, and the cost of what is left at its own average."""

    cost_usd: float | None  # None while some article has no known price (see cost_note)
    cost_remaining_usd: float | None  # None before the first priced article and once it ended
    prompt_tokens: int
    completion_tokens: int
    cost_unknown: int  # articles whose model has no price
    cost_note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def article_cost(generated: Generated, lane: Lane = "realtime") -> float | None:
    """USD this answer cost on `lane`, or None for a model with no price."""
    return prices.cost_usd(generated.provider, generated.model, generated.prompt_tokens,
                           generated.completion_tokens, lane)


PROMPT_MARGIN = 1.5


def worst_case(provider: str, model: str, request: ArticleRequest,
               lane: Lane = "realtime") -> float:
    """The most one call can cost: its prompt (estimated) plus every output token it may write
    at the model's price. 0 for a model with no price."""
    max_output = request.max_tokens or get_settings().llm_max_tokens
    # The character-based estimate is a guess, not a bound (a tokenizer may count more, e.g.
    # for punctuation, JSON escapes or the profile's long instructions): reserve half again.
    prompt = math.ceil(estimate_messages(build_messages(request)) * PROMPT_MARGIN)
    return prices.worst_case_cost(provider, model, prompt, max_output, lane) or 0.0


def caps_in_force(max_cost_usd: float | None) -> dict[Cap, float]:
    """The caps a batch with this `max_cost_usd` counts under, by name, with their limits."""
    settings = get_settings()
    caps: dict[Cap, float] = {"daily": settings.budget_daily_usd,
                              "monthly": settings.budget_monthly_usd}
    if max_cost_usd is not None:
        caps["batch"] = max_cost_usd
    return {cap: limit for cap, limit in caps.items() if cap == "batch" or limit}


def caps_apply(batch: AIGenerationTask) -> bool:
    return bool(caps_in_force(batch.max_cost_usd))


def unpriced_reason(provider: str, model: str, max_cost_usd: float | None) -> str | None:
    """Why a call to `model` may not run, or None: a cap applies and nothing prices the model."""
    caps = caps_in_force(max_cost_usd)
    if not caps or prices.price_for(provider, model) is not None:
        return None
    names = ", ".join(CAP_SETTINGS[cap] for cap in caps)
    return (f"model {model!r} has no known price while a spend cap applies ({names}): a cap "
            "cannot count what it cannot price; add the model to LLM_PRICES (USD per 1M "
            "tokens) or use a priced model")


def unpriced_refusal(provider: str, model: str, batch: AIGenerationTask) -> Refusal | None:
    """The worker's refusal of an unpriced model under a cap: the batch pauses with the reason
    until an editor resumes it (no window rolling over helps)."""
    reason = unpriced_reason(provider, model, batch.max_cost_usd)
    if reason is None:
        return None
    cap, limit = next(iter(caps_in_force(batch.max_cost_usd).items()))
    return Refusal(cap=cap, limit_usd=limit, spent_usd=0.0, amount_usd=0.0, reason=reason,
                   resume_at=None)


def reserve(key_id: str, amount: float, batch: AIGenerationTask
            ) -> Reservation | Refusal | None:
    """Hold `amount` USD under today's, this month's and the batch's caps before a call.
    None when no cap applies (nothing is held). Redis errors propagate: no call without it."""
    if not caps_apply(batch):
        return None
    return budget.reserve(get_redis(), key_id, max(0.0, amount), batch.id, batch.max_cost_usd,
                          batch_spent=batch.cost_usd or 0.0, spent_since=recorded_spend)


def recorded_spend(since: dt.datetime) -> float:
    """What the database holds as spent since `since`: the cost of every item that finished
    since (the figures the batch totals add up). What rebuilds the day's and the month's
    counters when Redis lost them; a floor (answers the quality gate discarded, and calls in
    flight when Redis lost its data, are not in it)."""
    with session_scope(read_only=True) as session:
        return repository.spent_since(session, since)


def settle(reservation: Reservation | None, actual: float | None) -> None:
    """Replace the reservation by what the call cost (None: unknown, keep what was held; 0 gives
    it all back). A Redis error leaves it held until its window ends: spending less, not more."""
    if reservation is None:
        return
    if actual is not None and actual > reservation.amount_usd:
        # The caps hold only while a call costs at most what it reserved
        # (app/batches/spend/budget.py).
        log.warning("call %s cost %s, more than the %s reserved for it (the provider wrote past "
                    "max_tokens, or the prompt estimate was low): a cap can be passed by the "
                    "difference", reservation.key_id, format_usd(actual),
                    format_usd(reservation.amount_usd))
    try:
        budget.reconcile(get_redis(), reservation,
                         reservation.amount_usd if actual is None else actual)
    except redis.RedisError as exc:
        log.warning("could not settle budget reservation %s: %s", reservation.key_id, exc)


def release(reservation: Reservation | None) -> None:
    """The call never reached the provider: give the reservation back."""
    settle(reservation, 0.0)


def summary(batch: AIGenerationTask) -> Summary:
    unknown = batch.cost_unknown or 0
    known = float(batch.cost_usd or 0.0)
    priced = (batch.completed or 0) - unknown
    left = batch.total - (batch.completed or 0) - (batch.failed or 0) - (batch.cancelled or 0)
    remaining = None
    if batch.status not in BATCH_FINAL and left > 0 and priced > 0 and not unknown:
        remaining = round(known / priced * left, DIGITS)
    note = None
    if unknown:
        note = (f"{unknown} article(s) were written by a model with no known price, so the "
                "batch's cost is unknown; set LLM_PRICES (USD per 1M tokens) to price it")
    return Summary(
        cost_usd=None if unknown else round(known, DIGITS), cost_remaining_usd=remaining,
        prompt_tokens=batch.prompt_tokens or 0, completion_tokens=batch.completion_tokens or 0,
        cost_unknown=unknown, cost_note=note,
    )


def average_article(batch: AIGenerationTask) -> float:
    """What an article of this batch has cost on average (0 before the first priced one)."""
    priced = (batch.completed or 0) - (batch.cost_unknown or 0)
    return float(batch.cost_usd or 0.0) / priced if priced > 0 else 0.0


def blocking_reason(batch: AIGenerationTask) -> str | None:
    """Why resuming now would pause again at once, or None: the next call (the worst case that
    was refused, or this batch's average article) does not fit a cap. The worker decides for
    real when it reserves; this only spares an editor a resume that cannot help."""
    next_call = max(average_article(batch), float((batch.extra or {}).get(PAUSED_CALL, 0.0)))
    spent = float(batch.cost_usd or 0.0)
    if batch.max_cost_usd is not None and spent + next_call > batch.max_cost_usd:
        return (f"the batch budget of {format_usd(batch.max_cost_usd)} does not fit the next "
                f"call ({format_usd(spent)} spent, up to {format_usd(next_call)} more): "
                "raise max_cost_usd with PATCH first")
    settings = get_settings()
    if not (settings.budget_daily_usd or settings.budget_monthly_usd):
        return None
    try:
        now = budget.spent(get_redis())
    except redis.RedisError:
        return None  # the worker decides when it reserves
    for cap, used, setting in ((settings.budget_daily_usd, now.today_usd, "BUDGET_DAILY_USD"),
                               (settings.budget_monthly_usd, now.month_usd,
                                "BUDGET_MONTHLY_USD")):
        if cap and used + next_call > cap:
            return (f"{setting} of {format_usd(cap)} does not fit the next call "
                    f"({format_usd(used)} spent, up to {format_usd(next_call)} more): "
                    f"raise {setting} or wait for the window to roll over")
    return None
