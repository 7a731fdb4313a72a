"""Each quality check passes a good article and flags a bad one with a readable message.

Good articles come from the offline writer (tests/llm/test_offline.py checks it on its own);
the bad ones are written here. Thresholds are the default profile's unless a test says so.
"""

from __future__ import annotations

import re

import pytest

from app.articles.quality import (
    ALL_CHECKS,
    DuplicateIndex,
    Thresholds,
    article_length,
    find_refusal,
    run_checks,
)
from app.config import QUALITY_CHECK_NAMES, Settings
from app.llm.base import ArticleRequest
from app.llm.offline import draft
from app.profiles.defaults import DEFAULT_PROFILES, ProfileSpec, default_profile

EN_TITLE = "Index funds explained"
ZH_TITLE = "什么是 ETF？新手投资入门"
EN = draft(ArticleRequest(EN_TITLE, "general", language="en"))
ZH = draft(ArticleRequest(ZH_TITLE, "general", language="zh-CN"))
EN_OTHER = draft(ArticleRequest("Budgeting for students", "general", language="en"))
ZH_OTHER = draft(ArticleRequest("比特币钱包安全指南 🔐", "general", language="zh-CN"))


def _check(text: str, language: str, *, title: str | None = None, **kwargs: object):
    kwargs.setdefault("thresholds", default_profile("general").thresholds(language))
    return run_checks(text, title=title or (ZH_TITLE if language == "zh-CN" else EN_TITLE),
                      language=language, **kwargs)  # type: ignore[arg-type]


def _only(report, name: str) -> str:
    assert report.names == [name], report.to_list()
    return report.flags[0].message


@pytest.mark.parametrize(("text", "language", "other"), [(EN, "en", EN_OTHER),
                                                          (ZH, "zh-CN", ZH_OTHER)])
def test_a_good_article_passes_every_check(text: str, language: str, other: str) -> None:
    report = _check(text, language, finish_reason="stop", corpus=[(2, other)])
    assert report.passed and report.flags == () and report.checks == ALL_CHECKS
    assert report.feedback_for_prompt() == ""


# --- length -------------------------------------------------------------------------------

SHORT_EN = "# Index funds explained\n\n" + "\n\n".join(
    f"## Part {i}\n\n" + " ".join(["Index funds follow the market at a low cost."] * 3)
    for i in range(1, 4)
)  # 3 x (2 + 27) + 3 = 90 words


def test_a_90_word_answer_is_too_short() -> None:
    assert article_length(SHORT_EN) == 90
    message = _only(_check(SHORT_EN, "en", enabled={"length"}), "length")
    assert message == "too short: 90 words, the profile asks for at least 500"


def test_a_short_chinese_answer_is_counted_in_characters() -> None:
    text = "# 什么是 ETF\n\n## 概述\n\n" + "指数基金跟踪市场，费用很低。" * 10
    message = _only(_check(text, "zh-CN", enabled={"length"}), "length")
    assert re.fullmatch(r"too short: \d+ characters, the profile asks for at least 800", message)


def test_a_long_answer_is_too_long() -> None:
    thresholds = Thresholds(min_length=10, max_length=200)
    message = _only(_check(EN, "en", enabled={"length"}, thresholds=thresholds), "length")
    assert re.fullmatch(r"too long: [\d,]+ words, the profile asks for at most 200", message)


# --- structure ----------------------------------------------------------------------------


def test_missing_heading_and_sections_are_flagged() -> None:
    text = re.sub(r"^## .*$", "", EN, flags=re.M).replace(f"# {EN_TITLE}\n", "", 1)
    message = _only(_check(text, "en", enabled={"structure"}), "structure")
    assert message == ('structure: no level-1 heading (a line like "# Title") and 0 sections '
                       "(## headings), the profile asks for at least 3")


def test_headings_inside_code_blocks_do_not_count() -> None:
    text = "# Title\n\n```\n## not a section\n## nor this\n## nor this\n```\n\n## One\n\nText."
    message = _only(_check(text, "en", enabled={"structure"}), "structure")
    assert message.endswith("1 section (## headings), the profile asks for at least 3")


# --- language -----------------------------------------------------------------------------


def test_an_english_answer_to_a_chinese_request_is_the_wrong_language() -> None:
    message = _only(_check(EN, "zh-CN", enabled={"language"}), "language")
    assert message == ("wrong language: the article reads as English (en), the request asks "
                       "for Simplified Chinese (zh-CN)")


def test_a_chinese_answer_to_an_english_request_is_the_wrong_language() -> None:
    message = _only(_check(ZH, "en", enabled={"language"}), "language")
    assert message == ("wrong language: the article reads as Simplified Chinese (zh-CN), the "
                       "request asks for English (en)")


GERMAN = "# Indexfonds erklärt\n\n## Überblick\n\n" + (
    "Indexfonds bilden einen ganzen Marktindex ab, deshalb folgen ihre Renditen dem Markt. Sie "
    "sind günstig, weil niemand die Aktien auswählen muss, und eignen sich für geduldige "
    "Sparer, die breit streuen wollen. ") * 2


def test_a_german_answer_to_an_english_request_is_the_wrong_language() -> None:
    message = _only(_check(GERMAN, "en", enabled={"language"}), "language")
    assert message == ("wrong language: the article reads as German (de), the request asks "
                       "for English (en)")
    assert _check(GERMAN, "de", enabled={"language"}).passed


def test_a_close_call_between_latin_languages_is_not_flagged() -> None:
    # Low-accuracy lingua reads this repetitive English as German (0.7 to 0.3).
    assert _check(SHORT_EN, "en", enabled={"language"}).passed


def test_language_compares_primary_subtags_and_tolerates_what_it_cannot_tell() -> None:
    assert _check(ZH, "zh-TW", enabled={"language"}).passed
    assert _check(EN, "en-GB", enabled={"language"}).passed
    assert _check("# Hi\n\nToo short to tell.", "zh-CN", enabled={"language"}).passed
    assert _check(EN, "sv", enabled={"language"}).passed  # not a language the detector knows


# --- refusal ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "language", "phrase"), [
    ("As an AI language model, I can’t write about investments.", "en",
     "As an AI language model"),
    ("I'm sorry, but I cannot help with that request.", "en", "I'm sorry, but I cannot"),
    ("作为一个人工智能，我无法提供投资建议。", "zh-CN", "作为一个人工智能"),
    ("很抱歉，我无法 完成这个请求。", "zh-CN", "我无法"),
])
def test_refusals_are_flagged_in_english_and_chinese(
    text: str, language: str, phrase: str
) -> None:
    message = _only(_check(text, language, enabled={"refusal"}), "refusal")
    assert message == f'refusal or boilerplate: the answer contains "{phrase}"'


def test_a_refusal_inside_a_long_article_is_still_flagged() -> None:
    text = EN.replace("## Conclusion", "As an AI language model, I cannot verify this.\n\n"
                      "## Conclusion")
    assert _check(text, "en", corpus=None).names == ["refusal"]


def test_extra_phrases_extend_the_list_and_words_must_match_whole() -> None:
    assert find_refusal(EN) is None and find_refusal(ZH) is None
    assert find_refusal(EN + "\nLorem ipsum dolor", ["lorem IPSUM"]) == "lorem IPSUM"
    assert find_refusal("Our AI can't help with taxes, a human can.") is None
    message = _only(_check(ZH + "示例文本", "zh-CN", enabled={"refusal"},
                           extra_phrases=["示例 文本"]), "refusal")
    assert "示例 文本" in message


def test_refusals_match_across_spacing_case_and_apostrophes() -> None:
    assert find_refusal("Well.  I'M\n SORRY,   but I\tCANNOT do it") == "I'm sorry, but I cannot"
    assert find_refusal("I’m unable to finish this.") == "I'm unable to"
    assert find_refusal("很抱歉，我 无\n法 完成") == "我无法"
    assert find_refusal("作为 一个 AI，我只能……") == "作为一个AI"
    assert find_refusal("Try our new AI modeling tool: as an AI modeling kit it is cheap.") is None


# --- duplicate ----------------------------------------------------------------------------


def _few_words_changed(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_an_english_near_duplicate_is_flagged_and_a_different_article_is_not() -> None:
    copy = _few_words_changed(EN, [("Overview", "Summary"), ("readers", "people"),
                                   ("careful", "prudent"), ("the", "a")])
    report = _check(copy, "en", enabled={"duplicate"}, corpus=[(7, EN), (8, EN_OTHER)])
    message = _only(report, "duplicate")
    assert re.fullmatch(r"near-duplicate of article 7: about \d+% of their 3-word shingles "
                        r"are shared \(estimated\), the profile allows up to 80%", message)
    assert report.flags[0].details["duplicate_of"] == 7
    assert _check(EN_OTHER, "en", enabled={"duplicate"}, corpus=[(7, EN)]).passed


def test_a_chinese_near_duplicate_is_shingled_by_characters() -> None:
    copy = _few_words_changed(ZH, [("概述", "简介"), ("读者", "用户"), ("谨慎", "小心")])
    message = _only(_check(copy, "zh-CN", enabled={"duplicate"}, corpus=[("zh-1", ZH)]),
                    "duplicate")
    assert message.startswith("near-duplicate of article zh-1: about ")
    assert "3-character shingles" in message
    assert _check(ZH_OTHER, "zh-CN", enabled={"duplicate"}, corpus=[("zh-1", ZH)]).passed


def test_the_duplicate_threshold_is_the_profiles() -> None:
    copy = _few_words_changed(EN, [("Overview", "Summary")])
    lenient = Thresholds(duplicate_threshold=1.0)
    assert not _check(copy, "en", enabled={"duplicate"}, corpus=[(1, EN)]).passed
    assert _check(copy, "en", enabled={"duplicate"}, thresholds=lenient,
                  corpus=[(1, EN)]).passed


def test_the_index_finds_the_most_similar_article() -> None:
    index = DuplicateIndex([(1, EN_OTHER), (2, EN), (3, ZH)], threshold=0.8)
    assert len(index) == 3 and 2 in index
    match = index.most_similar(_few_words_changed(EN, [("Overview", "Summary")]))
    assert match is not None and match.key == 2 and 0.8 <= match.similarity <= 1
    excluded = index.most_similar(EN, exclude=2)
    assert excluded is None or excluded.key != 2
    assert index.most_similar("") is None
    index.add(2, ZH_OTHER)  # replaced
    assert len(index) == 3
    again = index.most_similar(EN)
    assert again is None or again.key != 2


# --- truncated ----------------------------------------------------------------------------


def test_a_truncated_answer_is_flagged() -> None:
    message = _only(_check(EN, "en", finish_reason="length"), "truncated")
    assert message.startswith('truncated: the model stopped at its token limit')
    assert _check(EN, "en", finish_reason=None, enabled={"truncated"}).passed


# --- the report, the settings, the profiles -----------------------------------------------


def test_feedback_for_the_prompt_lists_every_reason() -> None:
    report = _check(SHORT_EN.replace("# Index", "As an AI language model: Index"), "en",
                    finish_reason="length")
    assert report.names == ["length", "structure", "refusal", "truncated"]
    feedback = report.feedback_for_prompt()
    assert feedback.startswith("The previous draft was rejected by the site's quality checks: "
                               "too short: 95 words, the profile asks for at least 500; ")
    assert "Write at least 500 words." in feedback and "no refusal" in feedback
    assert report.to_list()[0] == {"name": "length",
                                   "message": "too short: 95 words, the profile asks for at "
                                              "least 500"}


def test_disabled_checks_do_not_run_and_unknown_ones_are_refused() -> None:
    refusal = "As an AI language model, I cannot write this."
    report = _check(refusal, "en", enabled=set())
    assert report.passed and report.checks == ()
    assert _check(refusal, "en", enabled={"refusal"}).names == ["refusal"]
    with pytest.raises(ValueError, match=r"unknown quality check\(s\) \['spelling'\]"):
        _check(EN, "en", enabled={"spelling"})


def test_the_settings_name_the_same_checks() -> None:
    assert QUALITY_CHECK_NAMES == ALL_CHECKS
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.quality_checks == list(ALL_CHECKS)
    assert settings.quality_max_regenerations == 1 and settings.quality_extra_phrases == []
    fewer = Settings(_env_file=None, quality_checks="length, Refusal",  # type: ignore[call-arg]
                     quality_extra_phrases='["Lorem ipsum"]')
    assert fewer.quality_checks == ["length", "refusal"]
    assert fewer.quality_extra_phrases == ["Lorem ipsum"]
    assert Settings(_env_file=None, quality_checks="none").quality_checks == []  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="spelling"):
        Settings(_env_file=None, quality_checks="length,spelling")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="JSON list of strings"):
        Settings(_env_file=None, quality_extra_phrases="Lorem")  # type: ignore[call-arg]


def test_default_profiles() -> None:
    assert set(DEFAULT_PROFILES) == {"default", "guide", "review", "news"}
    review = DEFAULT_PROFILES["review"]
    assert (review.min_words, review.max_words) == (800, 1200)
    assert "| Pros | Cons |" in review.instructions
    assert review.thresholds("zh-CN") == Thresholds(1200, 2000, 4, 0.8)
    assert review.thresholds("en").min_length == 800
    assert all(p.model is None and p.temperature is None for p in DEFAULT_PROFILES.values())
    assert default_profile("Unknown category") is DEFAULT_PROFILES["default"]
    assert default_profile(" Review ") is review
    with pytest.raises(ValueError, match="min_words"):
        ProfileSpec("x", "i", min_words=900, max_words=800, min_chars=1, max_chars=2)
