"""Refuse to start the API in an insecure set-up, and say so loudly when it is open on purpose.

Every request needs credentials (a login session, a personal token or API_TOKEN) unless
API_ALLOW_UNAUTHENTICATED=true, so no address is unsafe by itself. What is refused: an
API_TOKEN anyone could guess (shorter than API_TOKEN_MIN_LENGTH, or a placeholder such as
`change-me`), since it is an admin's key. What is warned about: the opt-in on an address beyond
loopback (anyone who reaches it is an admin). Checked where the API starts: app.main.create_app
(so `uvicorn app.main:app` stops before it listens), `make run` (app.cli.devstack),
start_backend_daemon.sh and the systemd unit (`python -m app.core.exposure`).

uvicorn's own `--host` is not visible to the app: the scripts pass API_HOST to it, and whoever
runs uvicorn by hand sets API_HOST to what they pass.
"""

from __future__ import annotations

import ipaddress
import logging
import sys

from app.config import Settings, get_settings
from app.core.secrets_policy import weakness

log = logging.getLogger(__name__)
API_TOKEN_MIN_LENGTH = 24

# The exit status of `python -m app.core.exposure` on a refusal (sysexits' EX_CONFIG), so the
# systemd unit can tell a configuration error from a crash and not restart it in a loop.
EX_CONFIG = 78


class UnsafeExposure(SystemExit):
    """Raised at start-up: a SystemExit, so a server that imports the app stops with the
    message alone (no traceback) and a non-zero status."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; a name or a wildcard (0.0.0.0, ::, "") is not."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def refusal(settings: Settings) -> str | None:
    """Why the API must not start with these settings, or None."""
    token = settings.api_token
    reason = weakness(token.get_secret_value(), API_TOKEN_MIN_LENGTH) if token else None
    if reason is None:
        return None
    return (
        f"refusing to start: API_TOKEN is too weak ({reason}). It is the key of the built-in "
        "admin account `api-token`: anyone who guesses it can submit batches, spend the LLM "
        "budget and manage users. Generate one with `python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'`, or leave API_TOKEN unset and use personal tokens."
    )


def warning(settings: Settings) -> str | None:
    """What an operator must know although the API may start."""
    if settings.api_allow_unauthenticated and not is_loopback(settings.api_host):
        return (
            f"API_ALLOW_UNAUTHENTICATED=true on API_HOST={settings.api_host!r}: anyone who can "
            "reach this address acts as an admin (submits, spends the budget, publishes, manages "
            "users). Only on a network you trust; unset it to require logins."
        )
    return None


def require_safe_exposure(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    message = refusal(settings)
    if message is not None:
        raise UnsafeExposure(message)
    loud = warning(settings)
    if loud is not None:
        log.warning("WARNING: %s", loud)


def main() -> int:
    message = refusal(get_settings())
    if message is None:
        return 0
    print(message, file=sys.stderr)
    return EX_CONFIG


if __name__ == "__main__":
    raise SystemExit(main())
