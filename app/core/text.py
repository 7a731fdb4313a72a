"""Checks on free text shared by every domain."""

from __future__ import annotations

import re

# A lone UTF-16 half ("\ud800" in JSON) is a str in Python but cannot be encoded as UTF-8, so
# neither database driver can store it: refuse it naming the field instead of a 500.
_SURROGATE_RE = re.compile("[\\ud800-\\udfff]")
NOT_UNICODE = "must be valid Unicode text (no unpaired surrogates)"


def has_surrogate(text: str) -> bool:
    return _SURROGATE_RE.search(text) is not None
