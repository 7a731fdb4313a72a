"""Refuse to serve the API beyond loopback without a token.

The API can spend the LLM budget, so an API_HOST other than a loopback address with no
API_TOKEN is refused unless API_ALLOW_UNAUTHENTICATED=true says it is meant (Flower refuses the
same set-up, flowerconfig.py). Checked where the API starts: app.main.create_app (so
`uvicorn app.main:app` stops before it listens), `make run` (app.cli.devstack),
start_backend_daemon.sh and the systemd unit (`python -m app.core.exposure`).

uvicorn's own `--host` is not visible to the app: the scripts pass API_HOST to it, and whoever
runs uvicorn by hand sets API_HOST to what they pass.
"""

from __future__ import annotations

import ipaddress
import sys

from app.config import Settings, get_settings

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
    if is_loopback(settings.api_host) or settings.api_token is not None:
        return None
    if settings.api_allow_unauthenticated:
        return None
    return (
        f"refusing to start: API_HOST={settings.api_host!r} is not a loopback address and "
        "API_TOKEN is not set, so anyone who can reach this address could submit batches and "
        "spend the LLM budget. Set API_TOKEN (clients send 'Authorization: Bearer "
        "<API_TOKEN>'), or bind to 127.0.0.1, or set API_ALLOW_UNAUTHENTICATED=true if the "
        "network in front of it is trusted."
    )


def require_safe_exposure(settings: Settings | None = None) -> None:
    message = refusal(settings or get_settings())
    if message is not None:
        raise UnsafeExposure(message)


def main() -> int:
    message = refusal(get_settings())
    if message is None:
        return 0
    print(message, file=sys.stderr)
    return EX_CONFIG


if __name__ == "__main__":
    raise SystemExit(main())
