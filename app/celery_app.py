"""The plan's path: `celery -A app.celery_app worker|beat|flower|inspect ...`.

Exposes the Celery application `app` (configured in app/worker/celery.py) with its signal
handlers connected (app/worker/signals.py) and every table's mapper loaded.
"""

from __future__ import annotations

from app import models as _models  # noqa: F401  (every mapper, before a task uses the db)
from app.worker import signals as _signals  # noqa: F401  (connects the handlers)
from app.worker.celery import app, debug_task

__all__ = ["app", "debug_task"]
