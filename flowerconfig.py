"""Flower's own configuration file, read from the working directory (the repo root).

`celery -A app.celery_app flower` picks it up: basic auth from FLOWER_BASIC_AUTH ("user:password",
several separated by commas), bound to FLOWER_ADDRESS (loopback by default) and FLOWER_PORT.
Flower can revoke and terminate tasks, so it refuses to listen beyond loopback without auth.
Command-line options (e.g. --port=5555) still override these.
"""

import sys

from app.config import get_settings

_settings = get_settings()

address = _settings.flower_address
port = _settings.flower_port
basic_auth = [p.strip() for p in (_settings.flower_basic_auth or "").split(",") if p.strip()]
# Offline workers disappear from the dashboard after an hour instead of piling up.
purge_offline_workers = 3600

_cli_address = next(
    (a.split("=", 1)[1] for a in sys.argv if a.startswith("--address=")), address
)
if not basic_auth and _cli_address not in ("127.0.0.1", "localhost", "::1"):
    sys.exit(
        f"flower: refusing to listen on {_cli_address!r} without FLOWER_BASIC_AUTH "
        "(Flower can revoke and terminate tasks); set it, or bind to 127.0.0.1"
    )
