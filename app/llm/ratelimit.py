"""One LLM rate limit shared by every worker on every machine: GCRA schedules in Redis.

`LLM_RPM` and `LLM_TPM` are two GCRA schedules ("theoretical arrival times") kept in one Redis
hash and changed only by one Lua script, on Redis's clock, so every process on every machine
draws from the same budget and their clocks need not agree. Before each LLM call a worker takes
one request and an estimate of its tokens (prompt + LLM_MAX_TOKENS); after the call the estimate
is reconciled with the usage the provider reports. A 429's `Retry-After`, and
`x-ratelimit-remaining-*` at zero with its `x-ratelimit-reset-*`, pause the shared schedule.

No burst is allowed: calls are spaced evenly (OpenAI enforces a minute's budget over shorter
periods too), and the schedule runs at HEADROOM of the limit so the jitter between our admission
and the provider's clock never tips one of its windows over. With both limits at 0 nothing is
sent to Redis at all.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import redis

from app.config import get_settings
from app.core import names
from app.core.redis import get_redis
from app.llm.base import (
    ArticleRequest,
    Checkpoint,
    Generated,
    LLMError,
    LLMProvider,
    RateLimited,
    TransientError,
    Truncated,
)
from app.llm.prompt import build_messages

log = logging.getLogger(__name__)

KEY = names.RATE_LIMIT_KEY  # the GCRA state every worker shares
HEADROOM = 0.99  # 1% under the limit absorbs ~0.6 s of jitter per minute at any rate
SLICE = 0.25  # while waiting, cancel/deadline/heartbeat are checked this often (seconds)
MAX_PAUSE = 300.0  # a bogus header must not stop every worker for longer than this
DEFAULT_429_PAUSE = 1.0  # a 429 that says nothing about when to come back

# Times are milliseconds on Redis's clock. Fields: req / tok = the schedule's next free time,
# pause = nobody starts before this. Returns 0 when taken, else the milliseconds to wait.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local s = redis.call('HMGET', KEYS[1], 'req', 'tok', 'pause')
local req, tok, pause = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[3]) or 0
local op = ARGV[1]
local result = 0
if op == 'acquire' then
  local req_iv, tok_iv, tokens = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local ready = pause
  if req_iv > 0 and req > ready then ready = req end
  if tok_iv > 0 and tok > ready then ready = tok end
  if ready > now then
    return math.ceil(ready - now)
  end
  if req_iv > 0 then req = math.max(req, now) + req_iv end
  if tok_iv > 0 then tok = math.max(tok, now) + tokens * tok_iv end
elseif op == 'adjust' then
  -- tokens used minus tokens reserved; a refund cannot bank capacity (acquire clamps to now)
  local tok_iv, delta = tonumber(ARGV[2]), tonumber(ARGV[3])
  if tok_iv <= 0 or tok == 0 then return 0 end
  tok = tok + delta * tok_iv
elseif op == 'pause' then
  pause = math.max(pause, now + tonumber(ARGV[2]))
else
  return redis.error_reply('unknown op ' .. op)
end
redis.call('HSET', KEYS[1], 'req', req, 'tok', tok, 'pause', pause)
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(req, tok, pause, now) - now) + 60000)
return result
"""

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_reset(value: str | None) -> float | None:
    """OpenAI's `x-ratelimit-reset-*` ("20ms", "1s", "6m0s", "1h2m3.5s") in seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts:
        return None
    return sum(float(n) * _UNIT[unit] for n, unit in parts)


def estimate_tokens(request: ArticleRequest, max_tokens: int) -> int:
    """What one call may cost before it runs: the prompt (~4 characters a token) + max_tokens."""
    prompt = sum(len(m["content"]) // 4 + 4 for m in build_messages(request))
    return prompt + max_tokens


class RateLimiter:
    """Client of the shared schedule. Cheap to build; state lives in Redis only."""

    def __init__(self, client: redis.Redis, rpm: int, tpm: int, key: str = KEY) -> None:
        self.key = key
        self.rpm, self.tpm = rpm, tpm
        # Milliseconds between requests, and per token, at HEADROOM of the limits (0 = none).
        self.req_interval = 60_000 / (rpm * HEADROOM) if rpm else 0.0
        self.tok_interval = 60_000 / (tpm * HEADROOM) if tpm else 0.0
        self._script = client.register_script(_SCRIPT)

    def try_acquire(self, tokens: int) -> float:
        """Take one request + `tokens` now (returns 0), or say how many seconds to wait."""
        waited = self._script(
            keys=[self.key], args=["acquire", self.req_interval, self.tok_interval, tokens]
        )
        return int(waited) / 1000

    def acquire(
        self,
        tokens: int,
        checkpoint: Checkpoint,
        sleep: Callable[[float], None] = time.sleep,
    ) -> float:
        """Wait for a slot; returns the seconds waited. `checkpoint(0)` runs every SLICE while
        waiting, so a cancel, a lost lease or the deadline ends the wait (it raises)."""
        started = time.monotonic()
        while (wait := self.try_acquire(tokens)) > 0:
            # A little jitter so the waiters of one process do not all ask at the same instant.
            until = time.monotonic() + wait + random.uniform(0, 0.01)
            while (left := until - time.monotonic()) > 0:
                checkpoint(0)
                sleep(min(left, SLICE))
            checkpoint(0)
        return time.monotonic() - started

    def settle(self, reserved: int, used: int) -> None:
        """Replace the token estimate by what the provider reports it used."""
        if self.tok_interval and used != reserved:
            self._script(keys=[self.key], args=["adjust", self.tok_interval, used - reserved])

    def pause(self, seconds: float) -> None:
        """Nobody starts a call for `seconds` (the provider said so)."""
        seconds = min(max(seconds, 0.0), MAX_PAUSE)
        if seconds > 0:
            self._script(keys=[self.key], args=["pause", round(seconds * 1000, 3)])
            log.info("LLM rate limit: all workers pause for %.2f s", seconds)

    def feedback(self, headers: Mapping[str, str] | None, next_tokens: int) -> None:
        """A reply says the provider's budget ran out: pause until its reset."""
        if not headers:
            return
        waits = []
        if _number(headers.get("x-ratelimit-remaining-requests")) == 0:
            waits.append(parse_reset(headers.get("x-ratelimit-reset-requests")) or 1.0)
        remaining_tokens = _number(headers.get("x-ratelimit-remaining-tokens"))
        if remaining_tokens is not None and remaining_tokens < next_tokens:
            waits.append(parse_reset(headers.get("x-ratelimit-reset-tokens")) or 1.0)
        if waits:
            self.pause(max(waits))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@lru_cache
def _limiter(rpm: int, tpm: int) -> RateLimiter:
    return RateLimiter(get_redis(), rpm, tpm)


def get_limiter() -> RateLimiter | None:
    """The process's limiter, or None when LLM_RPM and LLM_TPM are both 0 (unlimited)."""
    settings = get_settings()
    if not settings.llm_rpm and not settings.llm_tpm:
        return None
    return _limiter(settings.llm_rpm, settings.llm_tpm)


def _headers_of(exc: LLMError) -> Mapping[str, str] | None:
    """The failed call's own headers: those the provider put on the error, else its cause's."""
    if exc.headers is not None:
        return exc.headers
    response: Any = getattr(exc.__cause__, "response", None)
    return getattr(response, "headers", None)


def generate(provider: LLMProvider, request: ArticleRequest, checkpoint: Checkpoint) -> Generated:
    """`provider.generate` inside the shared rate limit: wait for a slot, call, reconcile."""
    limiter = get_limiter()
    if limiter is None:
        return provider.generate(request, checkpoint)
    reserved = estimate_tokens(request, get_settings().llm_max_tokens)
    try:
        limiter.acquire(reserved, checkpoint)
    except redis.RedisError as exc:  # fail closed: no call without the shared limit
        raise TransientError(f"rate limiter unavailable: {exc}") from exc
    try:
        generated = provider.generate(request, checkpoint)
    except LLMError as exc:
        _after_failure(limiter, exc, reserved)
        raise
    try:
        if generated.total_tokens:
            limiter.settle(reserved, generated.total_tokens)
        # This call's own headers: a shared "last headers" attribute would be another thread's.
        limiter.feedback(generated.headers, reserved)
    except redis.RedisError as exc:  # the article is written; the schedule self-corrects
        log.warning("could not reconcile the LLM rate limit: %s", exc)
    return generated


def _after_failure(limiter: RateLimiter, exc: LLMError, reserved: int) -> None:
    try:
        if isinstance(exc, RateLimited):
            headers = _headers_of(exc) or {}
            wait = exc.retry_after
            if wait is None:
                resets = [parse_reset(headers.get(f"x-ratelimit-reset-{k}"))
                          for k in ("requests", "tokens")]
                wait = max((r for r in resets if r is not None), default=DEFAULT_429_PAUSE)
            limiter.pause(wait)
        else:  # a reply that failed otherwise can still say the budget ran out
            limiter.feedback(_headers_of(exc), reserved)
        if exc.status is not None:  # an error reply: the provider generated nothing
            limiter.settle(reserved, 0)
        elif isinstance(exc, Truncated) and exc.generated is not None:  # a whole limit's worth
            limiter.settle(reserved, exc.generated.total_tokens)
    except redis.RedisError as err:
        log.warning("could not update the LLM rate limit after %s: %s", type(exc).__name__, err)
