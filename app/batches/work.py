""""Work arrived": the one signal that reaches the feeder from below it.

A submit, a resume, a retry of failed items, a regeneration or lines the Batch API lane hands
back all put items in a backlog; the feeder (app.batches.scheduling.feeder) should then look at
once rather than at its next tick. The feeder sits above those modules in the package's layers,
so they cannot import it: they call `arrived(session)` and the feeder subscribes to this signal
when it is imported (the inversion app.core.queue uses for the Celery app). With no subscriber
in a process nothing is lost: the items wait in the database and every worker's maintenance
loop feeds them within a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.core import outbox

log = logging.getLogger(__name__)

_subscribers: list[Callable[[], None]] = []


def subscribe(listener: Callable[[], None]) -> None:
    """Call `listener` after every commit that brought work (once per listener)."""
    if listener not in _subscribers:
        _subscribers.append(listener)


def arrived(session: Session) -> None:
    """Items wait in a backlog once `session` commits: tell the subscribers then."""
    outbox.after_commit(session, notify, "work arrived: feed the workers")


def notify() -> None:
    for listener in list(_subscribers):
        listener()
