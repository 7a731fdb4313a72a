"""prometheus-client set up for prefork: with PROMETHEUS_MULTIPROC_DIR every process writes its
counters to files there and a scrape adds them up. Imported before any metric is created."""

from __future__ import annotations

import os

from prometheus_client import values

from app.config import get_settings


def use_multiprocess_dir() -> str | None:
    """Switch this process to multiprocess values before any metric below is created."""
    path = get_settings().prometheus_multiproc_dir
    if path:
        os.makedirs(path, exist_ok=True)
        # prometheus-client reads the directory from the environment when it opens a file.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        values.ValueClass = values.MultiProcessValue()
    return path


use_multiprocess_dir()
