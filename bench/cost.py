"""What one article costs a worker (issue 20), each figure from the worker's own building blocks
called in a child process (bench/breakdown.py), on the run's Redis and a fresh SQLite database:

- article-cost: ~1,000-word articles (category `review`) streamed as ~1,300 chunks at L=0, every
  default quality check on: thread CPU per article by phase, write transactions and Redis
  commands per article;
- library-growth: 400 `guide` articles in one category, one after the other: CPU per article of
  each hundred (the 4th should cost no more than 1.25x the 1st: nothing grows with the library);
- duplicates: one duplicate check against 10,000 stored articles, and a near copy of the oldest
  found (bench/duplicates.py), on SQLite and PostgreSQL;
- stream: client CPU to read one ~1,000-word answer streamed as 1,300 chunks, the SDK's chunk
  objects against app/llm/stream.py (bench/stream_cost.py);
- checks: the quality checks but the duplicate one, English and Chinese (bench/check_cost.py).
"""

from __future__ import annotations

from typing import Any

from bench.common import Context, guarded

CHUNKS = 1300  # a ~1,000-word answer as OpenAI streams it (about one chunk per token)
ARTICLES = 200
GROWTH = 400


def run(ctx: Context, which: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    env = ctx.env(ctx.fake_llm(0.0, CHUNKS), CELERY_BROKER_URL=f"{ctx.redis_url}/3",
                  CELERY_RESULT_BACKEND=f"{ctx.redis_url}/4", LOG_LEVEL="WARNING")
    env.pop("QUALITY_CHECKS", None)  # every default check
    try:
        if "article-cost" in which:
            n = 40 if ctx.quick else ARTICLES
            guarded(out, "article-cost", lambda: ctx.child(
                "bench.breakdown", env, "--n", str(n), "--category", "review", timeout=900))
        if "library-growth" in which:
            n = 100 if ctx.quick else GROWTH
            guarded(out, "library-growth", lambda: ctx.child(
                "bench.breakdown", env, "--n", str(n), "--warm", "0", "--category", "guide",
                "--hundreds", timeout=1800))
        if "duplicates" in which:
            n = "1000" if ctx.quick else "10000"
            guarded(out, "duplicates", lambda: ctx.child(
                "bench.duplicates", env, "--articles", n, "--checks", "100", timeout=1800))
            if ctx.postgres_url:
                guarded(out, "duplicates-pg", lambda: ctx.child(
                    "bench.duplicates", env, "--articles", n, "--checks", "100",
                    "--postgres", str(ctx.postgres_url), timeout=1800))
        if "stream" in which:
            guarded(out, "stream", lambda: ctx.child("bench.stream_cost", env, "--runs", "50"))
        if "checks" in which:
            guarded(out, "checks", lambda: ctx.child("bench.check_cost", env, "--runs", "50"))
    finally:
        import redis

        redis.Redis.from_url(f"{ctx.redis_url}/3").flushdb()
    return out
