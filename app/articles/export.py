"""Articles as files: Markdown with YAML front matter, a manifest.csv, a streamed ZIP.

An article is a mapping with the keys `id, task_id, title, category, language, status, model,
provider, prompt_tokens, completion_tokens, total_tokens, cost_usd, created_at, updated_at,
version, content` (the API's shape with `tokens: {prompt, completion, total}` works too). Keys
that are missing or None are left out of the front matter (so `cost_usd` appears only when the
cost is known) and left empty in the manifest. Times may be datetimes (naive ones are taken as
UTC, as SQLite returns them) or ISO 8601 strings; they are written as YAML timestamps.

Memory: `zip_stream` and `write_directory` hold one article at a time. The manifest rows go to
a spooled temporary file (RAM up to 1 MiB, then disk) and become the ZIP's last member, so the
whole ZIP, or all the articles, are never in memory. Feed them an iterator that reads the
database in pages (e.g. SQLAlchemy `yield_per`) and serve the ZIP with
`StreamingResponse(zip_stream(rows, total=count), media_type="application/zip",
headers={"Content-Disposition": content_disposition("articles.zip")})`.

File names follow `app.articles.naming`: `01-<slug>.md`, ... in the order given (one article:
`<slug>.md`; unknown count: a 4-digit prefix).
"""

from __future__ import annotations

import csv
import io
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sized
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import yaml
from stream_zip import ZIP_AUTO, MemberFile, stream_zip

from app.articles.naming import numbered_name

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = (
    "file", "id", "task_id", "title", "category", "language", "status", "version", "model",
    "provider", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "created_at",
    "updated_at",
)
BOM = "\ufeff"
_LEVEL = 6  # zlib's default: most of level 9's ratio for a fraction of the CPU
_FILE_MODE = stat.S_IFREG | 0o644
# A cell starting with one of these is a formula to Excel (CSV injection): prefix it with "'".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Line breaks YAML readers treat differently (PyYAML folds a quoted NEL into a space).
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


class _FrontMatterDumper(yaml.SafeDumper):
    """yaml.safe_dump's dumper, except that a string holding a line break (or anything not
    printable) is written double-quoted with escapes, so it reads back as exactly that string
    and never spreads the front matter over lines that a `---` scanner could mistake."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(c in value for c in _LINE_BREAKS) or not value.isprintable():
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_FrontMatterDumper.add_representer(str, _represent_str)


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise TypeError(f"not a time: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _tokens(article: Mapping[str, Any]) -> dict[str, int | None]:
    tokens = article.get("tokens")
    nested: Mapping[str, Any] = tokens if isinstance(tokens, Mapping) else {}
    return {
        key: article.get(f"{key}_tokens", nested.get(key))
        for key in ("prompt", "completion", "total")
    }


def _cost(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float | Decimal) else None


def front_matter(article: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata written above the Markdown, in order; None values are left out."""
    tokens = {k: v for k, v in _tokens(article).items() if v is not None}
    data: dict[str, Any] = {
        "title": article.get("title"),
        "id": article.get("id"),
        "task_id": article.get("task_id"),
        "category": article.get("category"),
        "language": article.get("language"),
        "status": article.get("status"),
        "version": article.get("version"),
        "model": article.get("model"),
        "provider": article.get("provider"),
        "tokens": tokens or None,
        "cost_usd": _cost(article.get("cost_usd")),
        "created_at": _time(article.get("created_at")),
        "updated_at": _time(article.get("updated_at")),
        # SEO fields (app/articles/seo.py) under their own names, as a static site reads them.
        "slug": article.get("slug"),
        "seo_title": article.get("seo_title"),
        "meta_description": article.get("meta_description"),
        "excerpt": article.get("excerpt"),
        "tags": article.get("tags") or None,
        "published_at": _time(article.get("published_at")),
    }
    return {key: value for key, value in data.items() if value is not None}


def markdown_with_front_matter(article: Mapping[str, Any]) -> str:
    """`---`, the front matter as YAML, `---`, a blank line, then the article's Markdown."""
    meta = yaml.dump(
        front_matter(article),
        Dumper=_FrontMatterDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1 << 16,
    )
    body = str(article.get("content") or "")
    if body and not body.endswith("\n"):
        body += "\n"
    return f"---\n{meta}---\n\n{body}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def manifest_row(name: str, article: Mapping[str, Any]) -> list[str]:
    """One manifest.csv row (MANIFEST_COLUMNS) for the file `name`."""
    tokens = _tokens(article)
    values: dict[str, Any] = {
        **{key: article.get(key) for key in MANIFEST_COLUMNS},
        "file": name,
        "prompt_tokens": tokens["prompt"],
        "completion_tokens": tokens["completion"],
        "total_tokens": tokens["total"],
        "cost_usd": _cost(article.get("cost_usd")),
        "created_at": _time(article.get("created_at")),
        "updated_at": _time(article.get("updated_at")),
    }
    return [_cell(values[key]) for key in MANIFEST_COLUMNS]


def _count(articles: Iterable[Any], total: int | None) -> int | None:
    if total is not None:
        return total
    return len(articles) if isinstance(articles, Sized) else None


class _Manifest:
    """manifest.csv rows written as they come, kept in a spooled temporary file (bytes)."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
        self.size = 0
        self._line = io.StringIO()
        self._writer = csv.writer(self._line)
        self._write(BOM)
        self._writer.writerow(MANIFEST_COLUMNS)
        self._flush()

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.file.write(data)
        self.size += len(data)

    def _flush(self) -> None:
        self._write(self._line.getvalue())
        self._line.seek(0)
        self._line.truncate()

    def add(self, name: str, article: Mapping[str, Any]) -> None:
        self._writer.writerow(manifest_row(name, article))
        self._flush()

    def chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        try:
            self.file.seek(0)
            while block := self.file.read(size):
                yield block
        finally:
            self.file.close()


def _files(
    articles: Iterable[Mapping[str, Any]], total: int | None
) -> Iterator[tuple[str, Mapping[str, Any], bytes]]:
    for index, article in enumerate(articles):
        name = numbered_name(str(article.get("title") or ""), index, total)
        yield name, article, markdown_with_front_matter(article).encode("utf-8")


def _modified(article: Mapping[str, Any]) -> datetime:
    when = _time(article.get("updated_at")) or _time(article.get("created_at"))
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return max(when, datetime(1980, 1, 1, tzinfo=UTC))  # a ZIP cannot say earlier


def zip_stream(
    articles: Iterable[Mapping[str, Any]], total: int | None = None, chunk_size: int = 1 << 16
) -> Iterator[bytes]:
    """A ZIP of one Markdown file per article plus manifest.csv, produced as it is read.

    `total` (the number of articles, e.g. from a COUNT query) sets the width of the file names'
    index prefix; a list is counted for you.
    """
    count = _count(articles, total)
    manifest = _Manifest()

    def members() -> Iterator[MemberFile]:
        newest: datetime | None = None
        for name, article, data in _files(articles, count):
            manifest.add(name, article)
            modified = _modified(article)
            newest = modified if newest is None else max(newest, modified)
            yield name, modified, _FILE_MODE, ZIP_AUTO(len(data), level=_LEVEL), (data,)
        yield (MANIFEST_NAME, newest or datetime.now(UTC), _FILE_MODE,
               ZIP_AUTO(manifest.size, level=_LEVEL), manifest.chunks())

    try:
        yield from stream_zip(members(), chunk_size=chunk_size)
    finally:
        manifest.file.close()


def write_directory(
    articles: Iterable[Mapping[str, Any]], out_dir: str | Path, total: int | None = None
) -> list[Path]:
    """Write the ZIP's files into `out_dir` (created if needed); returns their paths, the
    Markdown files in order and manifest.csv last. Existing files of the same name are replaced."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    count = _count(articles, total)
    written: list[Path] = []
    manifest_path = folder / MANIFEST_NAME
    with open(manifest_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for name, article, data in _files(articles, count):
            path = folder / name
            path.write_bytes(data)
            writer.writerow(manifest_row(name, article))
            written.append(path)
    written.append(manifest_path)
    return written


__all__ = [
    "MANIFEST_COLUMNS",
    "MANIFEST_NAME",
    "front_matter",
    "manifest_row",
    "markdown_with_front_matter",
    "write_directory",
    "zip_stream",
]
