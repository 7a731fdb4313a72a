"""Logging for the API and the workers: plain text, or one JSON object per line.

Every handler we configure also gets the ids of the work at hand (batch, item, schedule, Celery
task, bound with `bind_log_context`) as record attributes, and a formatter that blanks out
secret values (API keys, tokens, passwords inside URLs) wherever they would appear.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app.config import Settings, get_settings

# Standard record attributes, and uvicorn's ANSI-coloured copy of the message.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "color_message"}

# Per thread / per task: contextvars give each thread of a threads pool its own ids.
_context: ContextVar[dict[str, Any]] = ContextVar("ta_log_context", default={})  # noqa: B039

REDACTED = "***"


def bind_log_context(**values: Any) -> None:
    """Attach ids (batch_id, item_id, ...) to every log record of the current task/thread."""
    _context.set({**_context.get(), **{k: v for k, v in values.items() if v is not None}})


def clear_log_context() -> None:
    _context.set({})


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def secret_values(settings: Settings) -> list[str]:
    """The configured values that must never be written to a log line."""
    found = [
        s.get_secret_value()
        # The content key travels in query strings (?key=): uvicorn's access lines print them.
        for s in (settings.openai_api_key, settings.api_token, settings.sentry_dsn,
                  settings.content_api_key)
        if s is not None
    ]
    for url in (settings.database_url, settings.celery_broker_url,
                settings.celery_result_backend, settings.redis_url):
        try:
            found.append(urlsplit(url).password or "")
        except ValueError:
            continue
    for pair in (settings.flower_basic_auth or "").split(","):
        found.append(pair.partition(":")[2])
    # Longest first, so a secret that contains another is blanked whole.
    return sorted({v for v in found if len(v) >= 4}, key=len, reverse=True)


# Secrets whose value no setting knows: credentials inside a URL, a bearer token, an API key
# echoed by a provider ("Incorrect API key provided: sk-..."), `password=` / `token=` pairs.
_SECRET_SHAPES = (
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), rf"\g<1>{REDACTED}@"),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    (re.compile(r"\b(sk|pk|rk|key)-[A-Za-z0-9_-]{8,}"), rf"\g<1>-{REDACTED}"),
    (re.compile(r"((?:password|passwd|token|secret|api[_-]?key)[\"']?\s*[=:]\s*[\"']?)"
                r"[^\s&\"',;]{3,}", re.IGNORECASE), rf"\g<1>{REDACTED}"),
)


def _blank(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


# The configured secrets of the settings object in use (a new one after a reload).
_known: tuple[Settings | None, list[str]] = (None, [])


def mask_secrets(text: str) -> str:
    """The text with every secret blanked as in the logs: the configured values
    (`secret_values`) and the shapes of keys, tokens, passwords and URL credentials. For
    whatever is stored or served that came from an exception (item errors, health checks)."""
    global _known
    settings = get_settings()
    if _known[0] is not settings:
        _known = (settings, secret_values(settings))
    return _blank(text, _known[1])


class RedactingFormatter(logging.Formatter):
    """Wraps another formatter and blanks secrets in its output (message, extras, traceback)."""

    def __init__(self, inner: logging.Formatter, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return _blank(self.inner.format(record), self.secrets)


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
    if not root.handlers or force:
        root.handlers[:] = [logging.StreamHandler()]
    for handler in root.handlers:
        prepare_handler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if settings.log_format == "json":
            # One stream of JSON lines: uvicorn's records go through the root handler.
            logger.handlers[:] = []
            logger.propagate = True
        for handler in logger.handlers:
            prepare_handler(handler)
    logging.captureWarnings(settings.log_format == "json")


def prepare_handler(handler: logging.Handler) -> None:
    """JSON or text as configured, ids from the context, secrets blanked. Idempotent."""
    settings = get_settings()
    if not any(isinstance(f, ContextFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())
    inner = handler.formatter
    if isinstance(inner, RedactingFormatter):
        inner = inner.inner
    if settings.log_format == "json":
        inner = JsonFormatter()
    elif inner is None or isinstance(inner, JsonFormatter):
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(RedactingFormatter(inner, secret_values(settings)))
