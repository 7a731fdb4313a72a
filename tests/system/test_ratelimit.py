"""The shared LLM rate limit: the Lua GCRA against the real Redis, then two real workers.

The two-worker test runs LLM_RPM=120 for 30 s (the bench runs the issue's full 60 s): every
30 s window of the fake provider's own request timestamps holds at most 60 requests, and the
workers together reach at least 90% of that.
"""

from __future__ import annotations

import time

import pytest
import redis

from app.llm import ratelimit
from app.llm.base import ArticleRequest, RateLimited
from app.llm.ratelimit import HEADROOM, RateLimiter, parse_reset
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior
from tests.support.stack import use_settings, wait_for


@pytest.fixture
def client(redis_server) -> redis.Redis:
    return redis.Redis.from_url(f"{redis_server.url}/2")


# The schedule lives on Redis's clock. A test that reads "now" after the fact would count
# every moment this process waited for a CPU as time the schedule moved; these helpers take
# Redis's time just before and just after the step instead, so a check is exact on an idle
# machine and only as loose as the step was slow on a busy one.

def _redis_ms(client: redis.Redis) -> float:
    secs, micros = client.time()
    return secs * 1000 + micros / 1000


def _field(client: redis.Redis, field: str) -> float:
    """The schedule's `field` (milliseconds on Redis's clock; 0 when unset)."""
    return float(client.hget(ratelimit.KEY, field) or 0)


def _set_ahead(client: redis.Redis, field: str, step) -> tuple[float, float]:
    """Run `step`; return the least and the most seconds the schedule's `field` can lie past
    the moment the step set it (that moment is somewhere between Redis's time just before
    the step and just after it)."""
    before = _redis_ms(client)
    step()
    after = _redis_ms(client)
    value = _field(client, field)
    return (value - after) / 1000, (value - before) / 1000


def _told_to_wait(client: redis.Redis, limiter: RateLimiter, tokens: int) -> tuple[float, float,
                                                                                     float]:
    """(wait, least, most): what `try_acquire` answered, and the bounds the pause/schedule in
    Redis allow for it given when the call was made (±1 ms: the script rounds up to a ms)."""
    before = _redis_ms(client)
    wait = limiter.try_acquire(tokens)
    after = _redis_ms(client)
    ready = max(_field(client, "pause"), _field(client, "req") if limiter.req_interval else 0,
                _field(client, "tok") if limiter.tok_interval else 0)
    return wait, (ready - after) / 1000 - 0.001, (ready - before) / 1000 + 0.001


def _about(value: float, bounds: tuple[float, float], slack: float = 0.001) -> bool:
    least, most = bounds
    return least - slack <= value <= most + slack


def test_requests_are_spaced_evenly_and_never_faster_than_the_limit(client):
    # The very next caller, from any process, is told to wait one interval, and takes nothing.
    # (At 60 rpm, so that even a process kept off the CPU for a while asks within the interval.)
    slow = RateLimiter(client, rpm=60, tpm=0)
    assert slow.try_acquire(1) == 0
    taken = _field(client, "req")  # the next free time: one interval after the grant
    wait, least, most = _told_to_wait(client, slow, 1)
    assert least <= wait <= most and 0 < wait <= 60 / (60 * HEADROOM) + 0.001, (wait, least, most)
    again, least, most = _told_to_wait(client, slow, 1)
    assert least <= again <= most and again <= wait, (again, wait)
    assert _field(client, "req") == taken  # the refused calls took nothing
    client.delete(ratelimit.KEY)

    limiter = RateLimiter(client, rpm=1200, tpm=0)
    interval = 60 / (1200 * HEADROOM)
    # When each slot was granted, from this process: between sending the call that took it and
    # reading its answer. Two grants closer than the interval would show as a later slot's
    # answer coming less than an interval after an earlier slot's call was sent; a busy
    # machine only moves those bounds apart, it cannot make a correct limiter fail.
    grants: list[tuple[float, float]] = []
    ask = limiter.try_acquire

    def timed(tokens: int) -> float:
        sent = time.monotonic()
        wait = ask(tokens)
        if wait == 0:
            grants.append((sent, time.monotonic()))
        return wait

    limiter.try_acquire = timed  # type: ignore[method-assign]
    for _ in range(12):
        limiter.acquire(1, lambda _size: None)
    assert len(grants) == 12
    gaps = [later[1] - earlier[0] for earlier, later in zip(grants, grants[1:], strict=False)]
    assert min(gaps) >= interval - 0.001, gaps


def test_tokens_are_reserved_then_reconciled_with_the_reported_usage(client):
    limiter = RateLimiter(client, rpm=0, tpm=600)
    per_token = 60 / (600 * HEADROOM)  # seconds: 100 tokens hold the schedule ~10 s
    taken: list[float] = []
    ahead = _set_ahead(client, "tok", lambda: taken.append(limiter.try_acquire(100)))
    assert taken == [0] and _about(100 * per_token, ahead), (taken, ahead)
    booked = _field(client, "tok")
    # The next call waits for those 100 tokens, and takes none itself.
    wait, least, most = _told_to_wait(client, limiter, 100)
    assert least <= wait <= most and wait > 0.5 * 100 * per_token, (wait, least, most)
    assert _field(client, "tok") == booked
    limiter.settle(reserved=100, used=40)  # the provider reported 40: 60 go back
    assert _field(client, "tok") == pytest.approx(booked - 60 * per_token * 1000, abs=0.5)
    limiter.settle(reserved=40, used=140)  # and a call that used more pushes everyone back
    assert _field(client, "tok") == pytest.approx(booked + 40 * per_token * 1000, abs=0.5)


def test_a_pause_holds_every_caller_and_waiting_still_honours_cancel(client):
    limiter = RateLimiter(client, rpm=600000, tpm=0)
    assert _about(30, _set_ahead(client, "pause", lambda: limiter.pause(30)))
    wait, least, most = _told_to_wait(client, RateLimiter(client, rpm=600000, tpm=0), 1)
    assert least <= wait <= most and 20 < wait <= 30, (wait, least, most)

    class Cancelled(Exception):
        pass

    calls = []

    def checkpoint(_size: int) -> None:
        calls.append(time.monotonic())
        if len(calls) == 3:
            raise Cancelled()

    started = time.monotonic()
    with pytest.raises(Cancelled):
        limiter.acquire(1, checkpoint)
    assert time.monotonic() - started < 5  # checked every SLICE, not after the 30 s pause


def test_exhausted_headers_pause_until_their_reset(client):
    limiter = RateLimiter(client, rpm=600000, tpm=600000)
    limiter.feedback({"x-ratelimit-remaining-requests": "5",
                      "x-ratelimit-remaining-tokens": "90000"}, next_tokens=2000)
    assert limiter.try_acquire(1) == 0
    ahead = _set_ahead(client, "pause", lambda: limiter.feedback(
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"},
        next_tokens=2000))
    assert _about(300, ahead), ahead  # capped at MAX_PAUSE
    client.delete(ratelimit.KEY)
    ahead = _set_ahead(client, "pause", lambda: limiter.feedback(
        {"x-ratelimit-remaining-tokens": "1500", "x-ratelimit-reset-tokens": "1.5s"},
        next_tokens=2000))
    assert _about(1.5, ahead), ahead
    assert parse_reset("20ms") == pytest.approx(0.02)
    assert parse_reset("1h2m3.5s") == pytest.approx(3723.5)
    assert parse_reset("soon") is None


def test_a_real_429_pauses_all_workers_and_a_success_settles_tokens(client, fake_llm, database):
    use_settings(llm_rpm="6000", llm_tpm="600000", openai_base_url=fake_llm.base_url,
                 openai_api_key="sk-test", llm_max_tokens="500")
    try:
        from app.llm import get_provider

        request = ArticleRequest(title="Limits", category="guide")
        fake_llm.add_rule("Limits", [Behavior("429", retry_after=4)])

        def throttled() -> None:
            with pytest.raises(RateLimited):
                ratelimit.generate(get_provider(), request, lambda _size: None)

        # The pause runs 4 s from when the 429 came back (somewhere within the call).
        ahead = _set_ahead(client, "pause", throttled)
        assert _about(4, ahead), ahead
        wait, least, most = _told_to_wait(client, RateLimiter(client, 6000, 600000), 1)
        assert least <= wait <= most and wait > 0, (wait, least, most)  # another process waits

        client.delete(ratelimit.KEY)
        generated = ratelimit.generate(get_provider(), request, lambda _size: None)
        assert generated.total_tokens > 0
        # Reserved prompt estimate + 500; what stays booked is what the provider reported.
        # Both schedules were set by the one grant, at one instant on Redis's clock: the
        # request schedule is that instant plus one request's interval, the token schedule
        # that instant plus the reported tokens (once reconciled), however long the call took.
        limiter = RateLimiter(client, 6000, 600000)
        granted_at = _field(client, "req") - limiter.req_interval
        assert _field(client, "tok") - granted_at == pytest.approx(
            generated.total_tokens * limiter.tok_interval, abs=0.5)
    finally:
        use_settings(llm_rpm="0", llm_tpm="0", openai_base_url="", openai_api_key="",
                     llm_max_tokens=None)


def _max_in_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    j = best = 0
    for i, start in enumerate(starts):  # windows [start, start + window) from each request
        while j < len(starts) and starts[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def test_two_workers_share_llm_rpm_120(api, start_worker, fake_llm, llm_env):
    span, rpm = 30.0, 120
    allowed = int(rpm * span / 60)  # 60 requests in any 30 s window
    fake_llm.default = Behavior(latency=0.05, chunks=2)
    env = {**llm_env, "LLM_RPM": str(rpm)}
    start_worker("rl1", pool="threads", concurrency=4, **env)
    start_worker("rl2", pool="threads", concurrency=4, **env)
    batch = submit(api, [f"Rate limited title {i}" for i in range(100)])

    def ran_for_span() -> bool:
        starts = [r.started for r in fake_llm.requests]
        return bool(starts) and max(starts) - min(starts) >= span

    wait_for(ran_for_span, timeout=span * 3, interval=0.2, message="30 s of LLM requests")
    api.post(f"/api/tasks/{batch['task_id']}/cancel")
    status = wait_final(api, batch["task_id"], timeout=60)
    assert status["status"] == "cancelled"

    starts = sorted(r.started for r in fake_llm.requests)
    busiest = _max_in_window(starts, span)
    assert busiest <= allowed, f"{busiest} requests in one {span} s window, limit {allowed}"
    reached = sum(1 for s in starts if s < starts[0] + span)
    assert reached >= 0.9 * allowed, f"only {reached} of {allowed} requests in {span} s"
    # Both processes drew from the one shared budget.
    from sqlalchemy import select

    from app.batches.models import GenerationItem
    from app.core.db import session_scope

    with session_scope() as session:
        hosts = set(session.scalars(
            select(GenerationItem.worker).where(GenerationItem.task_id == batch["task_id"],
                                                GenerationItem.status == "completed")))
    assert {h.split("@")[0] for h in hosts if h} == {"rl1", "rl2"}
