"""The user's text files (titles, instructions) and stdin: UTF-8, with or without a BOM
(Windows Notepad writes one). Anything else is bad input with a message saying how to convert
it, not a UnicodeDecodeError traceback (or lone surrogates sent to the API, from stdin)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from app.cli.client import EXIT_INPUT, CliError


def utf8_text(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{source} is not UTF-8 text (byte {exc.start} cannot be read): save it "
                       "as UTF-8, e.g. `iconv -f GBK -t UTF-8 old.txt > new.txt`",
                       EXIT_INPUT) from None


def read_text(source: str, stdin: TextIO | None = None) -> str:
    """The file `source` as text, or `stdin` when `source` is '-' and a stdin is given."""
    if source == "-" and stdin is not None:
        buffer = getattr(stdin, "buffer", None)
        return stdin.read() if buffer is None else utf8_text(buffer.read(), "stdin")
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror}", EXIT_INPUT) from None
    return utf8_text(data, source)
