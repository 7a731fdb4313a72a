"""Token estimates for servers that report no usage (llama.cpp ignores ``stream_options``).

A character-based estimate, not a tokenizer: ``tiktoken`` downloads its vocabulary at run time,
which an offline machine (and this project's test machine) forbids, and it only knows OpenAI's
models anyway. About 1 token per CJK character (Han, kana, Hangul) and 1 per 4 other characters
is close to what BPE tokenizers give for prose; Generated.tokens_estimated marks the result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

_CJK = re.compile(
    "["
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3000-\u303f"  # CJK symbols and punctuation
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # half- and full-width forms
    "\U00020000-\U0003134f"  # CJK extensions B-H
    "]"
)

# Chat formats wrap each message in a few tokens (role, separators) and prime the reply.
PER_MESSAGE = 4
REPLY_PRIMING = 3


def estimate_text(text: str) -> int:
    """Tokens in ``text``: 1 per CJK character, 1 per 4 other characters (rounded up)."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def estimate_messages(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt tokens of chat ``messages``: their text plus the chat format's overhead."""
    total = REPLY_PRIMING
    for message in messages:
        total += PER_MESSAGE + estimate_text(_content_text(message.get("content")))
    return total
