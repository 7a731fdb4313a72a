"""Where `trustagency login` keeps its personal token: a 0600 file in the user's config
directory ($XDG_CONFIG_HOME/trustagency, else ~/.config/trustagency), read when neither
--token nor TRUSTAGENCY_API_TOKEN gives one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trustagency" / "credentials.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stored_token() -> str | None:
    token = load().get("token")
    return token if isinstance(token, str) and token else None


def save(data: dict[str, Any]) -> Path:
    """Written 0600 from its first byte (never readable by others, even briefly)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.chmod(target, 0o600)
    return target


def forget() -> bool:
    try:
        path().unlink()
    except FileNotFoundError:
        return False
    return True
