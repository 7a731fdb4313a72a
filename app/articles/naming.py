"""Readable, portable file names for articles, and the header that offers them for download.

The rule (the page's app.js `slugFor` implements the same one, so a download from the page and
a file from an export carry the same name):

1. NFKC-normalise the title (full-width `ＥＴＦ？` becomes `ETF?`, `¹` becomes `1`) and lowercase
   it;
2. every run of characters that are not letters, combining marks or digits (Unicode categories
   L*, M*, N*) becomes one `-`; leading and trailing `-` go;
3. cut to `max_length` characters and `max_bytes` UTF-8 bytes, at the last `-` when that keeps
   at least half of the cut;
4. a Windows device name (`con`, `nul`, `com1`, ...) gets a trailing `_`; nothing left gives
   `article`.

Why keep CJK instead of transliterating to pinyin: `如何选择一家靠谱的加密货币交易所.md` is what
a Chinese editor recognises at a glance, while toneless pinyin (`ru-he-xuan-ze-yi-jia-...`) is
slow to read and ambiguous. Every current filesystem, ZIP (stream-zip sets the UTF-8 name flag)
and browser (`filename*=` in Content-Disposition) carries UTF-8 names. Pinyin (`pypinyin`, which
reads polyphones in context: 银行 is `yin-hang`, 重庆 `chong-qing`) is used only where ASCII is
required: the `filename="..."` fallback of Content-Disposition, or `slug_for(..., ascii_only=True)`.

The result never contains `/`, `\\`, `.`, `:`, quotes, whitespace, control, format or bidi
characters, so it is safe on ext4, APFS, NTFS, FAT and in a ZIP; the byte bound (120 by default)
leaves room for an index prefix and extension under eCryptfs' 143-byte limit, and far under the
usual 255.

Names within a batch (`unique_names`): one title gives `<slug><ext>`; two or more give
`<index>-<slug><ext>`, the 1-based position zero-padded to the width of the count (at least 2:
`01-...`, `001-...` for 100+). The prefix keeps the batch's order in any file listing and makes the
names unique by construction (also on case-insensitive filesystems), so two identical titles
never overwrite each other.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from urllib.parse import quote

from pypinyin import lazy_pinyin
from slugify import slugify

FALLBACK = "article"
MAX_BYTES = 120
_KEPT_CATEGORIES = ("L", "M", "N")
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(10)]
    + [f"lpt{i}" for i in range(10)]
)
# RFC 5987 attr-char, minus ALPHA / DIGIT / "-" / "." / "_" / "~" that quote() keeps anyway.
_ATTR_CHAR_EXTRA = "!#$&+^`|"
_DISPOSITIONS = frozenset({"attachment", "inline"})


def _kept(ch: str) -> bool:
    return unicodedata.category(ch).startswith(_KEPT_CATEGORIES)


def _separate(text: str) -> str:
    """Runs of anything but letters, marks and digits become one '-', trimmed at both ends."""
    out: list[str] = []
    pending = False
    for ch in text:
        if _kept(ch):
            if pending and out:
                out.append("-")
            out.append(ch)
            pending = False
        else:
            pending = True
    return "".join(out)


def _truncate(slug: str, max_length: int, max_bytes: int) -> str:
    cut = slug[:max_length]
    while len(cut.encode("utf-8")) > max_bytes:
        cut = cut[:-1]
    if len(cut) < len(slug):
        dash = cut.rfind("-")
        if dash >= len(cut) // 2:
            cut = cut[:dash]
    return cut.strip("-")


def _to_ascii(text: str) -> str:
    """Pinyin for Han characters (in context), then text-unidecode for other scripts."""
    return slugify(" ".join(lazy_pinyin(text)))


def slug_for(
    title: str, max_length: int = 80, *, max_bytes: int = MAX_BYTES, ascii_only: bool = False
) -> str:
    """A file-name stem for `title`: readable (CJK kept), portable, never empty.

    >>> slug_for("如何选择一家靠谱的加密货币交易所")
    '如何选择一家靠谱的加密货币交易所'
    >>> slug_for("什么是 ETF？新手投资入门")
    '什么是-etf-新手投资入门'
    >>> slug_for("什么是 ETF？新手投资入门", ascii_only=True)
    'shen-me-shi-etf-xin-shou-tou-zi-ru-men'
    >>> slug_for("🔐"), slug_for("CON")
    ('article', 'con_')
    """
    if max_length < 1 or max_bytes < 4:
        raise ValueError("max_length must be >= 1 and max_bytes >= 4")
    text = unicodedata.normalize("NFKC", title or "")
    if ascii_only:
        text = _to_ascii(text)
    slug = _truncate(_separate(text.lower()), max_length, max_bytes)
    if not slug:
        return FALLBACK
    if slug in _WINDOWS_RESERVED:
        slug += "_"
    return slug


def _check_ext(ext: str) -> str:
    if ext and (not ext.startswith(".") or _separate(ext[1:]) != ext[1:]):
        raise ValueError(f"ext must be empty or '.' and letters/digits, not {ext!r}")
    return ext


def numbered_name(title: str, index: int, total: int | None, ext: str = ".md") -> str:
    """The name of the item at 0-based `index` of `total`, by the rule of `unique_names`.

    `total=None` (a stream of unknown length) always prefixes, with a width of 4 digits; so does
    an index beyond a `total` of 1 (a count that was out of date), so names stay unique.
    """
    _check_ext(ext)
    slug = slug_for(title)
    if total == 1 and index == 0:
        return f"{slug}{ext}"
    width = max(2, len(str(total))) if total else 4
    return f"{index + 1:0{width}d}-{slug}{ext}"


def unique_names(titles: Sequence[str], ext: str = ".md") -> list[str]:
    """File names for a batch of titles, unique within it, in the batch's order.

    One title: `<slug><ext>`; several: `01-<slug><ext>`, `02-...` (width of the count, at least
    2 digits). See the module docstring for why.
    """
    total = len(titles)
    return [numbered_name(title, i, total, ext) for i, title in enumerate(titles)]


def _ascii_fallback(filename: str) -> str:
    if filename.isascii() and filename.isprintable() and not any(c in filename for c in '"\\%;'):
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot or not ext.isascii() or not ext.isalnum():
        stem, ext = filename, ""
    return slug_for(stem, max_length=200, max_bytes=200, ascii_only=True) + (
        f".{ext}" if ext else ""
    )


def _clean(filename: str) -> str:
    """No path, no control or line-break characters (a header must stay one header)."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    return name.strip(" .") or FALLBACK


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition value per RFC 6266 with RFC 5987 `filename*`.

    >>> print(content_disposition("什么是-etf.md"))
    attachment; filename="shen-me-shi-etf.md"; filename*=UTF-8''%E4%BB%80%E4%B9%88%E6%98%AF-etf.md

    `filename` (quoted, ASCII only: pinyin/transliterated, no `"`, `\\` or `%`) is for old
    clients; every current browser and `curl -OJ` use `filename*`.
    """
    if disposition not in _DISPOSITIONS:
        raise ValueError(f"disposition must be one of {sorted(_DISPOSITIONS)}, not {disposition!r}")
    name = _clean(filename)
    encoded = quote(name, safe=_ATTR_CHAR_EXTRA, encoding="utf-8")
    return f"{disposition}; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
