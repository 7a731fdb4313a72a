"""The one door to the Celery app for code below the worker layer.

Domain code never imports the Celery app (it would import every task module back: the cycle
this package exists to break). app.worker.celery binds the app here when it is built; the
outbox sends through it after a commit, and the progress mirror writes through its backend.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

_app: Celery | None = None


def bind(celery_app: Celery) -> None:
    global _app
    _app = celery_app


def celery() -> Celery:
    if _app is None:
        raise RuntimeError("no Celery app is bound yet: import app.celery_app first")
    return _app


def send(name: str, args: list[Any], **options: Any) -> None:
    celery().send_task(name, args=args, **options)
