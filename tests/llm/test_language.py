"""Language tags, offline detection and names: what the prompt, writer and checks rely on."""

from __future__ import annotations

import threading

import pytest

from app.llm.language import (
    detect_language,
    language_name,
    normalize_language,
    resolve_language,
    split_tokens,
    uses_characters,
)

CHINESE_TITLES = [
    "如何选择一家靠谱的加密货币交易所",
    "什么是 ETF？新手投资入门",
    "比特币钱包安全指南 🔐",
    "2026 年最值得关注的十个理财趋势",
]
ENGLISH_TEXT = (
    "Index funds hold every stock of a market index, so their returns follow the market. "
    "They charge low fees because nobody picks the stocks, and they suit patient savers who "
    "want broad diversification without studying individual companies."
)


@pytest.mark.parametrize("title", CHINESE_TITLES)
def test_the_four_chinese_titles_are_detected_as_simplified_chinese(title: str) -> None:
    assert detect_language(title) == "zh-CN"
    assert resolve_language("auto", title) == "zh-CN"


def test_kana_makes_japanese_and_hangul_korean() -> None:
    assert detect_language("東京で部屋を借りる方法") == "ja"
    assert detect_language("서울에서 집을 구하는 방법") == "ko"
    # A stray kana in a long Chinese text does not make it Japanese.
    long_chinese = "如何选择一家靠谱的加密货币交易所，以及需要注意的风险。" * 3
    assert detect_language(long_chinese + "の") == "zh-CN"


def test_a_few_cjk_words_in_an_english_text_leave_it_english() -> None:
    assert detect_language(ENGLISH_TEXT + " In Chinese, bitcoin is 比特币.") == "en"


def test_long_latin_texts_go_to_lingua() -> None:
    assert detect_language(ENGLISH_TEXT) == "en"
    german = ("Indexfonds bilden einen ganzen Marktindex ab, deshalb folgen ihre Renditen dem "
              "Markt. Sie sind günstig, weil niemand die Aktien auswählen muss, und eignen sich "
              "für geduldige Sparer, die breit streuen wollen.")
    assert detect_language(german) == "de"


def test_short_latin_titles_use_the_accurate_detector() -> None:
    # Low-accuracy mode reads these as Vietnamese, Indonesian and French.
    assert resolve_language("auto", "Hello world") == "en"
    assert resolve_language("auto", "Tidal power") == "en"
    assert resolve_language("auto", "Top 10 finance trends") == "en"
    assert resolve_language("auto", "Wie man eine Krypto-Börse auswählt") == "de"


def test_a_title_without_letters_gets_the_default() -> None:
    assert detect_language("🔐 2026 !!!") == "und"
    assert resolve_language("auto", "🔐 2026 !!!") == "en"
    assert resolve_language("auto", "2026", default="zh-CN") == "zh-CN"
    assert resolve_language("", "什么是 ETF") == "zh-CN"  # empty means auto


def test_an_explicit_language_wins_over_the_title() -> None:
    assert resolve_language("en", "什么是 ETF？新手投资入门") == "en"
    assert resolve_language("zh_cn", "Index funds") == "zh-CN"


@pytest.mark.parametrize(("tag", "canonical"), [
    ("zh-CN", "zh-CN"), ("zh-cn", "zh-CN"), ("ZH_cn", "zh-CN"), ("EN", "en"),
    ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419"), (" Auto ", "auto"), ("yue", "yue"),
])
def test_tags_are_validated_and_canonically_cased(tag: str, canonical: str) -> None:
    assert normalize_language(tag) == canonical


@pytest.mark.parametrize("tag", ["", "e", "english please", "zh-", "12", "zh-CN-toolongsubtag"])
def test_invalid_tags_say_what_a_tag_looks_like(tag: str) -> None:
    with pytest.raises(ValueError, match=r"is not a BCP 47 tag: use a language code such as"):
        normalize_language(tag)


def test_names_for_prompts() -> None:
    assert language_name("zh-CN") == "Simplified Chinese (zh-CN)"
    assert language_name("en") == "English (en)"
    assert language_name("de-AT") == "German (de-AT)"
    assert language_name("xx") == "the language with the BCP 47 tag xx"
    # A script and a region: the script decides which Chinese (these said only "Chinese").
    assert language_name("zh-Hant-TW") == "Traditional Chinese (zh-Hant-TW)"
    assert language_name("zh-Hans-CN") == "Simplified Chinese (zh-Hans-CN)"
    assert language_name("zh-Hant-HK") == "Traditional Chinese (zh-Hant-HK)"
    assert language_name("zh-MO") == "Traditional Chinese (Macau) (zh-MO)"
    assert language_name("sr-Latn") == "the language with the BCP 47 tag sr-Latn"


def test_cjk_lengths_are_counted_in_characters() -> None:
    assert uses_characters("zh-CN") and uses_characters("ja") and uses_characters("ko")
    assert not uses_characters("en") and not uses_characters("de")
    assert split_tokens("什么是 ETF？2026 年") == ["什", "么", "是", "ETF", "2026", "年"]
    assert split_tokens("Don't panic, it’s fine") == ["Don't", "panic", "it’s", "fine"]


def test_detection_is_safe_from_many_threads() -> None:
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(detect_language(ENGLISH_TEXT)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["en"] * 8
