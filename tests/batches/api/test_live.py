"""The event stream's message framing (app.batches.api.live.sse)."""

from __future__ import annotations

import json

from app.batches.api.live import sse


def test_a_message_keeps_chinese_readable_and_stays_one_data_line():
    """Titles were sent as \\uXXXX escapes: `curl -N .../events` showed no Chinese."""
    data = {"type": "progress", "title": "如何在家种植番茄",
            "error": "第一行\n第二行\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
    message = sse(data)
    assert "如何在家种植番茄" in message
    assert message.startswith("data: ") and message.endswith("\n\n")
    line = message[len("data: "):-2]
    assert line.splitlines() == [line]  # one line for any reader: the framing holds
    assert json.loads(line) == data
