"""The character-based token estimate used when a server reports no usage."""

from __future__ import annotations

from app.llm.base import ArticleRequest
from app.llm.prompt import build_messages
from app.llm.tokens import PER_MESSAGE, REPLY_PRIMING, estimate_messages, estimate_text


def test_latin_text_is_about_four_characters_a_token() -> None:
    assert estimate_text("") == 0
    assert estimate_text("abcd") == 1
    assert estimate_text("abcde") == 2  # rounded up: a started token is a token
    assert estimate_text("x" * 400) == 100


def test_cjk_characters_are_a_token_each() -> None:
    assert estimate_text("潮汐发电") == 4  # Chinese
    assert estimate_text("ひらがなカタカナ") == 8  # Japanese kana
    assert estimate_text("조력발전") == 4  # Korean Hangul
    assert estimate_text("潮汐 power") == 2 + 2  # 2 CJK + " power" (6 characters)
    assert estimate_text("\U00020000") == 1  # CJK extension B, outside the BMP


def test_other_scripts_count_by_characters() -> None:
    assert estimate_text("приливная энергия") == 5  # 17 Cyrillic characters
    assert estimate_text("é" * 8) == 2


def test_messages_add_the_chat_overhead() -> None:
    messages = [{"role": "system", "content": "abcd"}, {"role": "user", "content": "潮汐"}]
    assert estimate_messages(messages) == REPLY_PRIMING + 2 * PER_MESSAGE + 1 + 2
    parts = [{"role": "user", "content": [{"type": "text", "text": "abcd" * 3}]}]
    assert estimate_messages(parts) == REPLY_PRIMING + PER_MESSAGE + 3
    assert estimate_messages([]) == REPLY_PRIMING


def test_the_real_prompt_is_estimated_near_its_length_over_four() -> None:
    messages = build_messages(ArticleRequest(title="Tidal power", category="energy"))
    chars = sum(len(m["content"]) for m in messages)
    assert chars // 4 <= estimate_messages(messages) <= chars // 4 + 20
