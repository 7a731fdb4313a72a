"""Error reporting: sentry-sdk with its Celery and FastAPI integrations, when SENTRY_DSN is set.

Events are scrubbed of the configured secret values before they leave the process, the same
values the log formatter blanks (app.core.logs.secret_values).
"""

from __future__ import annotations

import logging
from typing import Any

from app.config import get_settings
from app.core.logs import REDACTED, secret_values

log = logging.getLogger(__name__)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


def init_sentry(component: str) -> bool:
    """Turn on Sentry for this process (api, worker or beat). False when SENTRY_DSN is unset."""
    settings = get_settings()
    if settings.sentry_dsn is None:
        return False
    # Imported only when a DSN is set: the SDK and its integrations cost start-up time.
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.fastapi import FastApiIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration

    secrets = secret_values(settings)

    def before_send(event: Any, _hint: Any) -> Any:
        return _scrub(event, secrets)

    # Personal data (cookies, user IPs, request bodies) stays off, the SDK's default.
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        release="trustagency@0.1.0",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        integrations=[CeleryIntegration(), StarletteIntegration(), FastApiIntegration()],
        before_send=before_send,
        before_send_transaction=before_send,
    )
    sentry_sdk.set_tag("component", component)
    log.info("Sentry error reporting is on (%s)", component)
    return True
