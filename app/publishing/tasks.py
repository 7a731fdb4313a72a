"""The publishing domain's Celery tasks, on the `publishing` queue (names in app.core.names).
Retries are sent by app.publishing.service.record_failure, by error class, never by Celery."""

from __future__ import annotations

import socket

from celery import Task, shared_task

from app.core import names
from app.publishing import delivery


def _worker(task: Task) -> str:
    return task.request.hostname or socket.gethostname()


@shared_task(bind=True, name=names.PUSH_PUBLICATION_TASK, ignore_result=True)
def push_publication(self: Task, publication_id: int) -> None:
    """Create or update the article's one post on the target."""
    delivery.push(publication_id, _worker(self))


@shared_task(bind=True, name=names.WITHDRAW_PUBLICATION_TASK, ignore_result=True)
def withdraw_publication(self: Task, publication_id: int) -> None:
    """Unpublish: the post back to draft, or to the trash."""
    delivery.withdraw(publication_id, _worker(self))
