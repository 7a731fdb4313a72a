"""The audit trail as CSV, one line per entry, streamed as it is read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from app.audit.models import AuditEntry
from app.audit.schemas import CSV_COLUMNS
from app.core.schemas import as_utc

# A cell a spreadsheet would run as a formula (=, +, -, @) is written with a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(entry: AuditEntry) -> list[str]:
    values = {column: getattr(entry, column) for column in CSV_COLUMNS}
    at = as_utc(entry.at)
    values["at"] = at.isoformat().replace("+00:00", "Z") if at else ""
    return [_cell(values[column]) for column in CSV_COLUMNS]


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """A header line, then one per entry (UTF-8 with a BOM so spreadsheets read Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for entry in entries:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(_row(entry))
        yield buffer.getvalue()
