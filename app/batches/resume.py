"""Paused batches resume on their own when the budget window that paused them rolls over.

`resume_due()` is the one periodic check: every worker's maintenance loop runs it every
RESUME_INTERVAL seconds (app/worker/loop.py, one worker per tick), so no beat is needed; it is
safe to run from many processes at once (each resume locks its batch row and moves only a
paused batch). A batch paused on its own `max_cost_usd` has no `resume_at`: only raising it and
POST /resume helps. A batch whose cap is still reached pauses again at its next reservation,
with the next window's `resume_at`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from app.batches import repository, service
from app.batches.errors import BatchNotFound, BatchNotPaused
from app.core.db import session_scope
from app.core.models import utcnow

log = logging.getLogger(__name__)

# Seconds between checks: a batch resumes within this of its window rolling over. One indexed
# SELECT of the paused batches per tick, by one worker of the fleet: cheap at any rate.
RESUME_INTERVAL = 5.0


def resume_due(now: datetime | None = None) -> list[str]:
    """Resume every paused batch whose `resume_at` has passed; their ids."""
    now = now or utcnow()
    with session_scope(read_only=True) as session:
        due = repository.paused_due(session, now)
    resumed = []
    for batch_id in due:
        try:
            with session_scope() as session:
                service.resume(session, batch_id, automatic=True)
            resumed.append(batch_id)
        except (BatchNotFound, BatchNotPaused) as exc:  # resumed, cancelled or deleted meanwhile
            log.info("batch %s not resumed: %s", batch_id, exc)
    if resumed:
        log.info("resumed %d paused batch(es) whose budget window rolled over", len(resumed))
    return resumed
