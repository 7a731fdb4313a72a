"""What one article costs a worker (issue 20), each figure from the worker's own building blocks
called in a child process (bench/breakdown.py), on the run's Redis and a fresh SQLite database:

- article-cost: ~1,000-word articles (category `review`) streamed as ~1,300 chunks at L=0, every
  default quality check on: thread CPU per article by phase, write transactions and Redis
  commands per article;
- library-growth: 400 `guide` articles in one category, one after the other: CPU per article of
  each hundred (the 4th should cost no more than 1.25x the 1st: nothing grows with the library).
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
    finally:
        import redis

        redis.Redis.from_url(f"{ctx.redis_url}/3").flushdb()
    return out
