"""CPU per article of the quality checks other than the duplicate one (issue 20, item 2).

    python -m bench.check_cost [--runs 50] [--modes]      (prints one JSON line)

The articles are the fake OpenAI server's (what the end-to-end benchmarks' workers receive):
English asked for 1,000-1,200 words and Chinese for 1,000-1,300 characters. Each figure is the
median ``time.process_time()`` of ``runs`` calls of ``run_checks`` with the length, structure,
language, refusal and truncated checks (target: 5 ms together), then of each check alone.
``--modes`` adds lingua's own cost on the English article, low-accuracy against accurate mode,
on the whole text and on the sample the language check reads (and their load time and memory).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from app.articles.quality import Thresholds, article_length, run_checks
from app.llm import language
from app.llm.base import ArticleRequest
from app.llm.prompt import build_messages
from tests.support.fake_openai import make_pieces

CHECKS = ("length", "structure", "language", "refusal", "truncated")
TARGET_MS = 5.0
TITLE = "Tidal power for small harbours"
ARTICLES = {"en": ("en", 1000, 1200), "zh": ("zh-CN", 1000, 1300)}


def article(tag: str, low: int, high: int) -> str:
    request = ArticleRequest(TITLE, "energy", language=tag, min_length=low, max_length=high)
    return "".join(make_pieces(build_messages(request)[-1]["content"], 8))


def _median_ms(call: Callable[[], object], runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return round(statistics.median(times) * 1000, 3)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def _load(accurate: bool) -> dict[str, float]:
    """Build and preload one lingua detector: seconds and MB of RSS (zeros if it was built)."""
    before, start = _rss_mb(), time.perf_counter()
    language.warm_up(accurate=accurate)
    return {"load_s": round(time.perf_counter() - start, 2), "rss_mb": round(_rss_mb() - before)}


def lingua_modes(text: str, runs: int, loads: dict[bool, dict[str, float]]) -> dict[str, Any]:
    """lingua alone on ``text``: each mode, on the whole text and on the check's sample."""
    out: dict[str, Any] = {}
    sample = language.text_sample(text)
    for accurate in (False, True):
        load = loads.get(accurate) or _load(accurate)
        detector = language._detector(accurate)
        mode = "accurate" if accurate else "low_accuracy"
        out[mode] = {
            **load,
            "whole_ms": _median_ms(partial(detector.detect_language_of, text), runs),
            "sample_ms": _median_ms(partial(detector.detect_language_of, sample), runs),
            "answer_whole": str(detector.detect_language_of(text)),
            "answer_sample": str(detector.detect_language_of(sample)),
        }
    out["chars"], out["sample_chars"] = len(text), len(sample)
    return out


def measure(runs: int = 50, modes: bool = False) -> dict[str, Any]:
    """ms of CPU per article for the non-duplicate checks, English and Chinese."""
    loads = {False: _load(accurate=False)}  # a worker loads it at start-up, not per article
    out: dict[str, Any] = {"target_ms": TARGET_MS, "runs": runs}
    for name, (tag, low, high) in ARTICLES.items():
        text = article(tag, low, high)
        thresholds = Thresholds(min_length=low // 2, max_length=high * 2, min_sections=3)

        def check(enabled: tuple[str, ...], text: str = text, tag: str = tag,
                  thresholds: Thresholds = thresholds) -> object:
            return run_checks(text, title=TITLE, language=tag, thresholds=thresholds,
                              finish_reason="stop", enabled=enabled)

        report = check(CHECKS)
        assert getattr(report, "passed", False), f"the {name} article fails its checks"
        out[name] = {"length": article_length(text), "chars": len(text),
                     "all_ms": _median_ms(partial(check, CHECKS), runs),
                     "by_check_ms": {one: _median_ms(partial(check, (one,)), runs)
                                     for one in CHECKS}}
    out["met"] = all(out[name]["all_ms"] <= TARGET_MS for name in ARTICLES)
    if modes:
        out["lingua"] = lingua_modes(article(*ARTICLES["en"]), runs, loads)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--modes", action="store_true",
                        help="also lingua's low-accuracy and accurate modes (loads ~280 MB, 5 s)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs, args.modes)))


if __name__ == "__main__":
    main()
