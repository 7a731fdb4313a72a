"""A batch's language: validated once, "auto" resolved per title when the batch is stored."""

from __future__ import annotations

import pytest

from app.batches import service
from app.batches.errors import BatchError
from app.batches.validation import clean_language, item_language
from app.core.db import session_scope
from tests.support.stack import use_settings

CHINESE_TITLES = ["如何选择一家靠谱的加密货币交易所", "什么是 ETF？新手投资入门",
                  "比特币钱包安全指南 🔐", "2026 年最值得关注的十个理财趋势"]


def test_tags_are_canonical_and_none_is_the_setting():
    assert clean_language("zh_cn") == "zh-CN" and clean_language(" AUTO ") == "auto"
    assert clean_language(None) == "auto" and clean_language("") == "auto"
    with pytest.raises(BatchError) as err:
        clean_language("english please")
    assert (err.value.status_code, err.value.field) == (422, "language")
    assert "is not a BCP 47 tag" in err.value.message


def test_the_setting_is_the_default(monkeypatch):
    monkeypatch.setenv("ARTICLE_LANGUAGE", "zh_CN")
    use_settings()
    try:
        assert clean_language(None) == "zh-CN"
    finally:
        monkeypatch.delenv("ARTICLE_LANGUAGE")
        use_settings()


@pytest.mark.parametrize(("title", "language"), [
    *[(t, "zh-CN") for t in CHINESE_TITLES],
    ("東京で部屋を借りる方法", "ja"),
    ("Index funds explained", "en"),
    ("Title 1", "en"),  # lingua says Turkish; it could well be English, so English it is
    ("Parallel title 3", "en"),
    ("🔐 2026", "en"),
    ("Wie man eine Krypto-Börse auswählt", "de"),
    ("Comment choisir un courtier en ligne", "fr"),
])
def test_auto_is_each_titles_own_language(title, language):
    assert item_language("auto", title) == language


def test_an_explicit_language_is_every_items(db):
    with session_scope() as session:
        batch = service.create_batch(session, [*CHINESE_TITLES[:2], "Index funds"], "guide",
                                     language="en")
        assert batch.language == "en" and {i.language for i in batch.items} == {"en"}
        auto = service.create_batch(session, [CHINESE_TITLES[0], "Index funds explained"],
                                    "guide")
        assert auto.language == "auto"
        assert [i.language for i in auto.items] == ["zh-CN", "en"]
