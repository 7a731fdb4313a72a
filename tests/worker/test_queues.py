"""Beat's maintenance tasks have a queue of their own; article work stays on Celery's default."""

from __future__ import annotations

from app.celery_app import app
from app.core import names
from tests.support import faults


def test_maintenance_tasks_never_queue_behind_article_messages():
    app.send_task(names.ITEM_TASK, args=[1], ignore_result=True)
    for name in names.MAINTENANCE_TASKS:
        app.send_task(name, ignore_result=True)
    assert faults.queue_length(names.ITEM_QUEUE) == 1
    assert faults.queue_length(names.MAINTENANCE_QUEUE) == len(names.MAINTENANCE_TASKS) == 5
    # A worker started without -Q consumes both.
    assert {q.name for q in app.conf.task_queues} == set(names.WORKER_QUEUES)
