"""The readable text of an article's Markdown, which the quality checks and the near-duplicate
signatures (app/articles/quality.py, app/articles/signatures.py) count and shingle."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_HTML = re.compile(r"<[^>\n]+>")


def without_code(text: str) -> str:
    """``text`` without its fenced code blocks."""
    return _FENCE.sub("", text)


def prose(text: str) -> str:
    """The readable text of Markdown: no code blocks, URLs, link targets or HTML tags."""
    text = _INLINE_CODE.sub(" ", without_code(text))
    text = _LINK_TARGET.sub("]", text)
    if "://" in text or "www." in text:  # the URL pattern costs more than this test
        text = _URL.sub(" ", text)
    return _HTML.sub(" ", text)
