"""The near-duplicate check against a stored library: ms per check, and whether it finds a near
copy of the oldest article.

    .venv/bin/python -m bench.duplicates [--articles 10000] [--checks 100]
                                         [--postgres URL]     (prints one JSON line)

    from bench.duplicates import check_cost
    check_cost(10_000)   # {"ms_per_check": ..., "found_oldest": True, ...}

The library is one category of the test server's guides (tests/support/fake_openai.py: one
template, so two of them share 15-25 % of their 3-word shingles, as articles on one topic do),
stored and signed by the code the service runs (`duplicates.backfill_chunk`, as
`trustagency signatures backfill` does), then ANALYZEd. The oldest is a whole guide (~950
words); the others are short guides (~200 words), which only makes the setup quicker: a check
reads their signatures, never their text.

A check is what the quality gate does for a new article (app/batches/generation/quality_gate.py
`Library`): a read-only session, the new text's MinHash, the band-key query, the candidates'
signatures compared. Each check gets a text never seen before (no MinHash cache hit):
- ``ms_per_check``: a new guide on another title (nothing to find), median and p95, with the
  worker CPU it takes;
- ``ms_per_copy_check`` / ``found_oldest``: the oldest article with one more sentence;
- ``at_threshold_0_5``: the same at a profile threshold of 0.5 (a lower tier of bands, which
  also finds the oldest article's siblings: see app/articles/signatures.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

CATEGORY = "guide"
STORE_CHUNK = 1000


def guide(title: str, *, short: bool = False) -> str:
    """The test server's answer to the prompt the service sends for ``title``."""
    from app.llm.base import ArticleRequest
    from app.llm.prompt import build_messages
    from app.profiles.defaults import default_profile
    from tests.support.fake_openai import make_pieces

    profile = default_profile(CATEGORY)
    low, high = (150, 250) if short else profile.length_bounds("en")
    request = ArticleRequest(title, CATEGORY, language="en", instructions=profile.instructions,
                             min_length=low, max_length=high)
    return "".join(make_pieces(str(build_messages(request)[-1]["content"]), 1))


def build_library(articles: int) -> int:
    """Store and sign ``articles`` guides, the oldest first; the oldest one's id."""
    from tests.support.duplicates import store

    oldest = store([guide("How to open your first brokerage account")])[0]
    left = articles - 1
    for start in range(0, left, STORE_CHUNK):
        count = min(STORE_CHUNK, left - start)
        store([guide(f"Savings guide {start + i}: step by step", short=True)
               for i in range(count)])
    return oldest


def _check(text: str, threshold: float) -> tuple[float, float, Any]:
    from app.articles import duplicates
    from app.core.db import session_scope

    wall, cpu = time.perf_counter(), time.process_time()
    with session_scope(read_only=True) as session:
        found = duplicates.nearest(session, text, category=CATEGORY, language="en",
                                   exclude_item=0, threshold=threshold)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, found


def _series(texts: list[str], threshold: float) -> dict[str, Any]:
    runs = [_check(text, threshold) for text in texts]
    wall = sorted(run[0] for run in runs)
    return {"ms": round(statistics.median(wall), 2),
            "p95_ms": round(wall[int(len(wall) * 0.95) - 1], 2),
            "cpu_ms": round(statistics.median(run[1] for run in runs), 2),
            "candidates": max(run[2].candidates for run in runs),
            "found": [run[2].match for run in runs]}


def measure(articles: int, checks: int) -> dict[str, Any]:
    """On the database this process is configured with (DATABASE_URL), migrated and empty."""
    from sqlalchemy import text

    from app.articles import signatures
    from app.articles.models import Article
    from app.core.db import get_engine, session_scope

    signatures.warm_up()
    started = time.perf_counter()
    oldest = build_library(articles)
    with get_engine().begin() as conn:
        # What autovacuum (PostgreSQL) would have done by now: without statistics the planner
        # takes each band key for 50,000 rows and starts parallel workers (~15 ms a query).
        conn.execute(text("ANALYZE"))
    setup = time.perf_counter() - started
    with session_scope(read_only=True) as session:
        original = session.get(Article, oldest).content  # type: ignore[union-attr]
    _check(guide("Warm-up title"), 0.8)  # imports, and the once-a-process backfill note
    out: dict[str, Any] = {"articles": articles, "checks": checks, "setup_s": round(setup, 1)}
    for label, threshold in (("", 0.8), ("at_threshold_0_5", 0.5)):
        fresh = _series([guide(f"A new title {label} {i}") for i in range(checks)], threshold)
        copies = _series([original + f"\n\nOne more sentence, number {label} {i}."
                          for i in range(checks)], threshold)
        found = [match is not None and match.key == oldest and match.similarity >= threshold
                 for match in copies["found"]]
        flagged = [m for m in fresh["found"] if m is not None and m.similarity >= threshold]
        figures = {"ms_per_check": fresh["ms"], "p95_ms": fresh["p95_ms"],
                   "cpu_ms_per_check": fresh["cpu_ms"], "candidates": fresh["candidates"],
                   "false_duplicates": len(flagged), "ms_per_copy_check": copies["ms"],
                   "cpu_ms_per_copy_check": copies["cpu_ms"],
                   "copy_candidates": copies["candidates"], "found_oldest": all(found),
                   "similarity": round(min(m.similarity for m in copies["found"] if m), 3)}
        if label:
            out[label] = figures
        else:
            out.update(figures)
    return out


def check_cost(articles: int = 10_000, checks: int = 100, postgres_url: str | None = None
               ) -> dict[str, Any]:
    """ms per duplicate check against ``articles`` stored ones, and whether a near copy of the
    oldest was found, on a fresh SQLite database (or PostgreSQL: a fresh database on the
    server of ``postgres_url``). Points this process's settings at it meanwhile."""
    import os

    from tests.support.stack import migrate, postgres_database, use_settings

    before = os.environ.get("DATABASE_URL")
    with ExitStack() as stack:
        if postgres_url:
            url = stack.enter_context(postgres_database(postgres_url))
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = f"sqlite:///{folder / 'duplicates.db'}"
            migrate(url)
        use_settings(database_url=url)
        try:
            return {"database": "PostgreSQL" if postgres_url else "SQLite",
                    **measure(articles, checks)}
        finally:
            use_settings(database_url=before)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("--postgres", metavar="URL",
                        help="a PostgreSQL server (admin URL) to make a fresh database on")
    args = parser.parse_args(argv)
    print(json.dumps(check_cost(args.articles, args.checks, args.postgres)))


if __name__ == "__main__":
    main()
