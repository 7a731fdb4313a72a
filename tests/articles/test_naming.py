"""Readable, portable file names from titles, and the Content-Disposition that offers them."""

from __future__ import annotations

import doctest
import re
import unicodedata
from urllib.parse import unquote

import pytest

from app.articles import naming
from app.articles.naming import content_disposition, numbered_name, slug_for, unique_names

CHINESE_TITLES = {  # issue 13: each must say which title it holds
    "如何选择一家靠谱的加密货币交易所": "如何选择一家靠谱的加密货币交易所",
    "什么是 ETF？新手投资入门": "什么是-etf-新手投资入门",
    "比特币钱包安全指南 🔐": "比特币钱包安全指南",
    "2026 年最值得关注的十个理财趋势": "2026-年最值得关注的十个理财趋势",
}
WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
HOSTILE = [
    "../../etc/passwd",
    "..\\..\\windows\\system32",
    "a/b\\c:d*e?f\"g<h>i|j",
    "line\nbreak\rcarriage\ttab\x00nul\x1fus",
    "zero\u200bwidth\u202ertl\u2028sep\ufeffbom",
    "   ...   ",
    ".hidden",
    "-rf --no-preserve-root",
    "CON", "nul", "Com1", "LPT9", "aux.txt", "ＣＯＮ", "com¹",
    "🔐🔐🔐", "", "___", "---",
    "如" * 300,
    "word " * 200,
    "é" * 300,
]


@pytest.mark.parametrize(("title", "expected"), CHINESE_TITLES.items())
def test_chinese_titles_stay_readable(title, expected):
    assert slug_for(title) == expected


def test_latin_titles_match_the_pages_rule():
    assert slug_for("Index funds explained") == "index-funds-explained"  # tests/test_page.py
    assert slug_for("What's a  credit score?") == "what-s-a-credit-score"
    assert slug_for("Ünïcödé Café") == "ünïcödé-café"
    assert slug_for("ＥＴＦ全角") == "etf全角"  # NFKC: full-width letters become ASCII


def test_combining_marks_are_kept():
    # python-slugify's [^\w] would drop the virama and vowel signs and garble the word.
    assert slug_for("हिन्दी") == "हिन्दी"
    assert slug_for("ภาษาไทย") == "ภาษาไทย"


def test_ascii_only_uses_pinyin_in_context():
    assert slug_for("如何选择一家靠谱的加密货币交易所", ascii_only=True) == (
        "ru-he-xuan-ze-yi-jia-kao-pu-de-jia-mi-huo-bi-jiao-yi-suo")
    assert slug_for("银行在重庆", ascii_only=True) == "yin-hang-zai-chong-qing"  # not yin-xing
    assert slug_for("Привет мир", ascii_only=True) == "privet-mir"
    assert slug_for("什么是 ETF？", ascii_only=True).isascii()


@pytest.mark.parametrize("title", HOSTILE)
@pytest.mark.parametrize("ascii_only", [False, True])
def test_every_slug_is_safe_on_every_filesystem(title, ascii_only):
    slug = slug_for(title, ascii_only=ascii_only)
    assert slug
    assert not WINDOWS_FORBIDDEN & set(slug)
    assert all(unicodedata.category(c)[0] in "LMN" or c == "-" or c == "_" for c in slug), slug
    assert "." not in slug and not slug.startswith("-") and not slug.endswith("-")
    assert slug.split(".")[0].rstrip("_") not in {"con", "prn", "aux", "nul", "com1", "lpt9"} \
        or slug.endswith("_")
    assert slug.lower() not in naming._WINDOWS_RESERVED
    assert len(slug) <= 80 and len(slug.encode("utf-8")) <= naming.MAX_BYTES
    assert unicodedata.normalize("NFC", slug) == slug
    if ascii_only:
        assert slug.isascii()


def test_reserved_device_names_and_empty_titles():
    assert slug_for("CON") == "con_"
    assert slug_for("ＣＯＮ") == "con_"
    assert slug_for("com¹") == "com1_"
    assert slug_for("aux.txt") == "aux-txt"  # no longer a device name
    for title in ["", "🔐", "!!!", "   ", "\u200b"]:
        assert slug_for(title) == "article"


def test_long_titles_are_cut_by_characters_and_bytes_at_a_word_boundary():
    assert slug_for("word " * 200) == "-".join(["word"] * 16)  # 79 characters, not "wor"
    cjk = slug_for("如" * 300)
    assert len(cjk.encode("utf-8")) == 120 and set(cjk) == {"如"}
    assert slug_for("a" * 300, max_length=10) == "a" * 10
    assert len(slug_for("é" * 300, max_bytes=50).encode("utf-8")) <= 50
    with pytest.raises(ValueError):
        slug_for("x", max_length=0)


def test_unique_names_prefix_a_batch_and_keep_one_alone():
    one = "如何选择一家靠谱的加密货币交易所"
    assert unique_names([one]) == [f"{one}.md"]
    names = unique_names(list(CHINESE_TITLES))
    assert names == [f"0{i + 1}-{slug}.md" for i, slug in enumerate(CHINESE_TITLES.values())]
    assert unique_names([]) == []


def test_unique_names_are_unique_even_for_equal_and_case_variant_titles():
    titles = ["Same", "same", "SAME", "", "🔐", "Same!"] * 20
    names = unique_names(titles, ext=".txt")
    assert len({n.casefold() for n in names}) == len(titles)
    assert names[0] == "001-same.txt" and names[-1] == "120-same.txt"
    assert all(re.fullmatch(r"\d{3}-[^/\\]+\.txt", n) for n in names)
    with pytest.raises(ValueError):
        unique_names(["x"], ext="../md")


def test_numbered_name_for_streams_of_unknown_length():
    assert numbered_name("Index funds", 0, None) == "0001-index-funds.md"
    assert numbered_name("Index funds", 0, 1) == "index-funds.md"
    assert numbered_name("Index funds", 1, 1) == "02-index-funds.md"  # stale count: still unique


def _parse(header: str) -> tuple[str, dict[str, str]]:
    """`kind; name="quoted"; name*=ext-value` (RFC 6266 grammar) into the kind and raw params."""
    kind, _, rest = header.partition(";")
    params = {}
    for name, value in re.findall(r'\s*([A-Za-z*]+)=("(?:[^"\\]|\\.)*"|[^;]*)(?:;|$)', rest):
        params[name] = value[1:-1] if value.startswith('"') else value
    return kind.strip(), params


def test_content_disposition_has_an_ascii_fallback_and_utf8_name():
    name = "01-如何选择一家靠谱的加密货币交易所.md"
    header = content_disposition(name)
    assert header.isascii()
    kind, params = _parse(header)
    assert kind == "attachment"
    assert params["filename"] == "01-ru-he-xuan-ze-yi-jia-kao-pu-de-jia-mi-huo-bi-jiao-yi-suo.md"
    assert header.endswith("filename*=UTF-8''" + "01-%E5%A6%82%E4%BD%95%E9%80%89%E6%8B%A9"
                           "%E4%B8%80%E5%AE%B6%E9%9D%A0%E8%B0%B1%E7%9A%84%E5%8A%A0%E5%AF%86"
                           "%E8%B4%A7%E5%B8%81%E4%BA%A4%E6%98%93%E6%89%80.md")
    encoded = params["filename*"].removeprefix("UTF-8''")
    assert unquote(encoded, encoding="utf-8", errors="strict") == name


def test_content_disposition_of_ascii_names_and_inline():
    assert content_disposition("index-funds-explained.md") == (
        "attachment; filename=\"index-funds-explained.md\"; "
        "filename*=UTF-8''index-funds-explained.md")
    assert content_disposition("a b.md", "inline").startswith('inline; filename="a b.md";')
    with pytest.raises(ValueError):
        content_disposition("x.md", "attachment; evil=1")


def test_content_disposition_cannot_be_used_to_inject_headers_or_paths():
    header = content_disposition('..\\..\\a"b%c;d\r\nSet-Cookie: x=1.md')
    assert "\r" not in header and "\n" not in header
    kind, params = _parse(header)
    fallback = params["filename"]
    assert not set(fallback) & set('"\\%;/') and fallback.isascii()
    encoded = params["filename*"].removeprefix("UTF-8''")
    assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]+", encoded)  # RFC 5987 attr-chars only
    assert "/" not in unquote(encoded) and "\\" not in unquote(encoded)


def test_docstring_examples_hold():
    assert doctest.testmod(naming).failed == 0
