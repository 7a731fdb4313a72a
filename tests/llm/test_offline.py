"""The offline writer: placeholder articles in the asked language that pass the checks."""

from __future__ import annotations

import itertools
import re

import pytest

from app.articles.quality import minhash, run_checks
from app.llm.base import ArticleRequest
from app.llm.offline import PROVIDER_NAME, OfflineProvider, draft
from app.profiles.defaults import default_profile

CHINESE_TITLES = [
    "如何选择一家靠谱的加密货币交易所",
    "什么是 ETF？新手投资入门",
    "比特币钱包安全指南 🔐",
    "2026 年最值得关注的十个理财趋势",
]
ENGLISH_TITLES = ["Index funds explained", "Budgeting for students", "Pros & cons of ETFs"]


def _han_share(text: str) -> float:
    han = len(re.findall(r"[\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return han / (han + latin)


def _checks(text: str, title: str, language: str, category: str = "general") -> list[dict]:
    thresholds = default_profile(category).thresholds(language)
    report = run_checks(text, title=title, language=language, thresholds=thresholds,
                        finish_reason="stop")
    return report.to_list()


@pytest.mark.parametrize("title", CHINESE_TITLES)
def test_a_chinese_title_gives_a_chinese_article(title: str) -> None:
    text = draft(ArticleRequest(title, "general", language="auto"))
    assert text.startswith(f"# {title}\n\n")
    assert _han_share(text) > 0.8  # the issue saw 36 Han characters in 717
    assert len(re.findall(r"^## ", text, re.M)) >= 4
    assert _checks(text, title, "zh-CN") == []


@pytest.mark.parametrize("title", ENGLISH_TITLES)
def test_an_english_title_gives_an_english_article_that_passes(title: str) -> None:
    text = draft(ArticleRequest(title, "general"))
    assert text.startswith(f"# {title}\n\n") and _han_share(text + "中") < 0.01
    assert _checks(text, title, "en") == []


def test_the_request_language_wins_over_the_title() -> None:
    chinese = draft(ArticleRequest("Index funds explained", "general", language="zh-CN"))
    assert _han_share(chinese) > 0.8
    english = draft(ArticleRequest("什么是 ETF？新手投资入门", "general", language="en"))
    assert "## Overview" in english and _checks(english, "什么是 ETF？新手投资入门", "en") == []


def test_texts_differ_from_title_to_title_without_being_near_duplicates() -> None:
    for titles in (CHINESE_TITLES, ENGLISH_TITLES):
        texts = [draft(ArticleRequest(t, "general", language="auto")) for t in titles]
        for a, b in itertools.combinations(texts, 2):
            sa, sb = minhash(a), minhash(b)
            assert sa is not None and sb is not None and sa.jaccard(sb) < 0.6


def test_the_same_request_gives_the_same_draft_and_feedback_a_new_one() -> None:
    request = ArticleRequest("Index funds explained", "general")
    assert draft(request) == draft(request)
    assert draft(ArticleRequest("Index funds explained", "general", feedback="again")) \
        != draft(request)


@pytest.mark.parametrize(("language", "category"), [("en", "review"), ("zh-CN", "review"),
                                                      ("en", "guide"), ("zh-CN", "news")])
def test_the_target_length_and_the_review_table_follow_the_profile(
    language: str, category: str
) -> None:
    profile = default_profile(category)
    low, high = profile.length_bounds(language)
    text = draft(ArticleRequest("Exchange X", category, language=language, min_length=low,
                                max_length=high))
    assert _checks(text, "Exchange X", language, category) == []
    assert ("| Pros | Cons |" in text or "| 优点 | 缺点 |" in text) == (category == "review")


def test_the_provider_streams_the_draft_and_labels_it_a_placeholder() -> None:
    sizes: list[int] = []
    got = OfflineProvider().generate(ArticleRequest(CHINESE_TITLES[0], "general",
                                                    language="zh-CN"), sizes.append)
    assert got.provider == PROVIDER_NAME and "占位草稿" in got.content
    assert sizes[-1] == len(got.content) and len(sizes) == 5
    assert got.completion_tokens > 800  # counted in characters, not in space-separated words
