"""Markdown to HTML for the page's article reader, with no way for an article to run script.

markdown-it-py with `html` off escapes any raw HTML in the text, and its link validation refuses
`javascript:`, `vbscript:`, `file:` and non-image `data:` URLs. The page adds a strict
Content-Security-Policy on top.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def markdown_to_html(text: str) -> str:
    return _parser().render(text)
