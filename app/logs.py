"""Logging for the API and the workers: plain text, or one JSON object per line."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from app.config import get_settings

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure_logging(force: bool = False) -> None:
    settings = get_settings()
    root = logging.getLogger()
    if root.handlers and not force:
        for handler in root.handlers:
            _format(handler)
        root.setLevel(settings.log_level.upper())
        return
    handler = logging.StreamHandler()
    _format(handler)
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())


def _format(handler: logging.Handler) -> None:
    if get_settings().log_format == "json":
        handler.setFormatter(JsonFormatter())
    elif handler.formatter is None:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
