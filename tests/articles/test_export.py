"""Export: Markdown with YAML front matter, manifest.csv, a ZIP streamed as it is read."""

from __future__ import annotations

import csv
import io
import random
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml

from app.articles.export import (
    MANIFEST_COLUMNS,
    front_matter,
    markdown_with_front_matter,
    write_directory,
    zip_stream,
)
from app.articles.naming import slug_for

T0 = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
TITLES = [
    "如何选择一家靠谱的加密货币交易所",
    "什么是 ETF？新手投资入门",
    "比特币钱包安全指南 🔐",
    "2026 年最值得关注的十个理财趋势",
    "Index funds explained",
    "Index funds explained",  # equal titles in one export
]
TRICKY_TITLES = [
    "Index funds explained",
    "如何选择一家靠谱的加密货币交易所",
    'He said "buy": it\'s \'fine\'',
    "key: value # not a comment",
    "- a list? no: [a title], {really}",
    "---",
    "first line\n---\nthird: line",
    "carriage\rreturn and\ttab",
    "next\x85line (NEL)",
    "line\u2028separator and paragraph\u2029separator",
    "null",
    "yes",
    "1e3",
    "2026-01-01",
    "&anchor *alias !tag %directive @at `tick`",
    "  leading and trailing spaces  ",
    "比特币：钱包？安全！🔐",
    "\ufeffBOM and \u200bzero width",
]


def article(i: int = 0, title: str | None = None, content: str | None = None,
            **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": i + 1,
        "task_id": "3f2a9c1e-0000-4000-8000-000000000000",
        "title": TITLES[i % len(TITLES)] if title is None else title,
        "category": "guide",
        "language": "zh-CN" if i % 2 == 0 else "en",
        "status": "approved",
        "model": "gpt-4o-mini",
        "provider": "openai",
        "prompt_tokens": 120 + i,
        "completion_tokens": 800 + i,
        "total_tokens": 920 + 2 * i,
        "cost_usd": None if i % 3 == 0 else 0.000123 * (i + 1),
        "created_at": T0 + timedelta(minutes=i),
        "updated_at": T0 + timedelta(minutes=i, seconds=30),
        "version": 1 + i % 4,
        "content": content if content is not None else f"# {TITLES[i % len(TITLES)]}\n\n正文 {i}\n",
    }
    data.update(extra)
    return data


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """What a static site generator does: the block between the first two `---` lines."""
    assert text.startswith("---\n")
    meta, sep, body = text[4:].partition("\n---\n")
    assert sep, text
    return yaml.safe_load(meta), body


# ---- front matter --------------------------------------------------------------------------

@pytest.mark.parametrize("title", TRICKY_TITLES)
def test_front_matter_round_trips_through_safe_load(title):
    source = article(1, title=title, content="# Body\n\n---\n\nA rule above is not front matter.")
    text = markdown_with_front_matter(source)
    meta, body = split_front_matter(text)
    assert meta == front_matter(source)
    assert meta["title"] == title
    assert meta["created_at"] == source["created_at"]
    assert meta["updated_at"] == source["updated_at"]
    assert meta["tokens"] == {"prompt": 121, "completion": 801, "total": 922}
    assert meta["cost_usd"] == source["cost_usd"]
    assert meta["version"] == 2 and meta["language"] == "en" and meta["id"] == 2
    assert body == "\n" + source["content"] + "\n"


def test_chinese_front_matter_is_written_as_chinese_not_escapes():
    text = markdown_with_front_matter(article(0))
    assert "title: 如何选择一家靠谱的加密货币交易所\n" in text
    assert "\\u" not in text
    assert text.endswith("\n---\n\n# 如何选择一家靠谱的加密货币交易所\n\n正文 0\n")


def test_unknown_values_are_left_out_and_api_shaped_articles_work():
    meta, _ = split_front_matter(markdown_with_front_matter(article(0)))
    assert "cost_usd" not in meta  # cost unknown: not claimed to be 0
    api_shape = {  # GET /api/articles/{id}: nested tokens, ISO times, no review fields yet
        "id": 7, "task_id": "t", "title": "Index funds", "category": "news", "provider": "offline",
        "model": "offline-template", "created_at": "2026-03-01T08:30:15.123456Z",
        "tokens": {"prompt": 1, "completion": 2, "total": 3}, "content": "# Index funds",
        "cost_usd": Decimal("0.25"), "language": None,
    }
    meta, body = split_front_matter(markdown_with_front_matter(api_shape))
    assert meta == {"title": "Index funds", "id": 7, "task_id": "t", "category": "news",
                    "model": "offline-template", "provider": "offline",
                    "tokens": {"prompt": 1, "completion": 2, "total": 3}, "cost_usd": 0.25,
                    "created_at": T0}
    assert body == "\n# Index funds\n"
    naive = article(0, created_at=T0.replace(tzinfo=None))  # SQLite gives naive UTC
    assert split_front_matter(markdown_with_front_matter(naive))[0]["created_at"] == T0


# ---- the ZIP -------------------------------------------------------------------------------

def generated(count: int, size: int = 0, consumed: list[int] | None = None
              ) -> Iterator[dict[str, Any]]:
    """Articles made one at a time, as a database cursor would give them."""
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(3000)] + list("比特币钱包安全指南如何选择一家靠谱的加密货币交易所")
    for i in range(count):
        if consumed is not None:
            consumed[0] += 1
        body = " ".join(rng.choices(words, k=size // 6)) if size else f"正文 {i}"
        yield article(i, content=f"# {TITLES[i % len(TITLES)]}\n\n{body}\n")


def read_manifest(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows the Chinese titles
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_zip_of_500_articles_has_readable_unique_names_and_a_manifest():
    data = b"".join(zip_stream(generated(500), total=500))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        names = [info.filename for info in infos]
        md = [n for n in names if n.endswith(".md")]
        assert len(md) == 500 and names[-1] == "manifest.csv" and len(names) == 501
        assert len({n.casefold() for n in md}) == 500
        for i, name in enumerate(md):
            assert name == f"{i + 1:03d}-{slug_for(TITLES[i % len(TITLES)])}.md"
        assert md[:5] == ["001-如何选择一家靠谱的加密货币交易所.md",
                          "002-什么是-etf-新手投资入门.md",
                          "003-比特币钱包安全指南.md",
                          "004-2026-年最值得关注的十个理财趋势.md",
                          "005-index-funds-explained.md"]
        assert all(info.flag_bits & 0x800 for info in infos)  # names marked UTF-8
        assert infos[0].date_time == (2026, 3, 1, 8, 30, 44)  # updated_at, 2-second DOS clock

        meta, body = split_front_matter(archive.read(md[1]).decode("utf-8"))
        assert meta == front_matter(article(1))
        assert body == "\n# 什么是 ETF？新手投资入门\n\n正文 1\n"

        rows = read_manifest(archive.read("manifest.csv"))
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    assert [r["file"] for r in rows] == md
    assert rows[0]["title"] == "如何选择一家靠谱的加密货币交易所"
    assert rows[0]["cost_usd"] == "" and float(rows[1]["cost_usd"]) == pytest.approx(0.000246)
    assert rows[1]["total_tokens"] == "922" and rows[1]["version"] == "2"
    assert rows[1]["created_at"] == "2026-03-01T08:31:15.123456+00:00"


def test_a_list_is_counted_and_one_article_keeps_its_plain_name():
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_stream([article(0)])))) as archive:
        assert archive.namelist() == ["如何选择一家靠谱的加密货币交易所.md", "manifest.csv"]
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_stream(generated(3))))) as archive:
        assert archive.namelist()[0] == "0001-如何选择一家靠谱的加密货币交易所.md"  # count unknown
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_stream([])))) as archive:
        assert archive.namelist() == ["manifest.csv"]
        assert len(read_manifest(archive.read("manifest.csv"))) == 0


def test_manifest_cells_cannot_become_excel_formulas():
    source = article(1, title="=HYPERLINK(\"http://evil\",\"click\")", category="@sum")
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_stream([source])))) as archive:
        row = read_manifest(archive.read("manifest.csv"))[0]
        meta, _ = split_front_matter(archive.read(row["file"]).decode())
    assert row["title"] == "'=HYPERLINK(\"http://evil\",\"click\")" and row["category"] == "'@sum"
    assert meta["title"] == source["title"]  # the Markdown keeps the real title


def test_zip_starts_before_the_articles_are_all_read():
    consumed = [0]
    stream = zip_stream(generated(500, consumed=consumed), total=500)
    first = next(stream)
    assert first.startswith(b"PK\x03\x04")
    assert consumed[0] <= 2, f"{consumed[0]} of 500 articles read before the first bytes"
    rest = b"".join(stream)
    assert consumed[0] == 500
    with zipfile.ZipFile(io.BytesIO(first + rest)) as archive:
        assert len(archive.namelist()) == 501


def test_zip_memory_stays_far_below_the_export_size():
    count, size = 500, 20_000
    total_md = 0
    for item in generated(count, size):
        total_md += len(markdown_with_front_matter(item).encode())
    out = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for chunk in zip_stream(generated(count, size), total=count):
            out += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total_md > 9_000_000 and out > 3_000_000  # so holding either would show
    # About 1 MB (zlib, a 64 KiB output chunk, the manifest so far) whatever the export size.
    assert peak < total_md / 5 and peak < out / 2, (peak, out, total_md)


# ---- the directory (trustagency articles --out DIR) -----------------------------------------

def test_write_directory_writes_the_same_files_as_the_zip(tmp_path):
    items = [article(i) for i in range(12)]
    paths = write_directory(iter(items), tmp_path / "out" / "nested", total=len(items))
    with zipfile.ZipFile(io.BytesIO(b"".join(zip_stream(items)))) as archive:
        assert [p.name for p in paths] == archive.namelist()
        for path in paths:
            assert path.read_bytes() == archive.read(path.name), path.name
    assert paths[0].name == "01-如何选择一家靠谱的加密货币交易所.md"
    assert sorted(p.name for p in (tmp_path / "out" / "nested").iterdir()) == sorted(
        p.name for p in paths)
    # Writing again replaces the files, it does not add "(1)" copies.
    assert write_directory(items, tmp_path / "out" / "nested") == paths
    assert len(list((tmp_path / "out" / "nested").iterdir())) == 13
