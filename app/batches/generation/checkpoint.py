"""Between streamed chunks: is the batch cancelled, is the item still ours, is time up?

While in use (`with Checkpoint(...)`), a background thread keeps the item's lease alive and reads
the cancel flag from the database, so a slow first token or a long silent gap is not mistaken
for a dead worker, and a cancel is seen even when Redis lost its flag.
"""

from __future__ import annotations

import logging
import threading
import time

from app.batches import cancel_flags, state
from app.batches.models import AIGenerationTask, GenerationItem
from app.config import get_settings
from app.core.db import session_scope

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """The batch was cancelled while this item was being written."""


class LeaseLost(Exception):
    """Another worker reclaimed the item (our lease ran out): stop without writing."""


class DeadlineExceeded(Exception):
    """The item ran past its time limit (enforced here for pools without signals)."""


class Checkpoint:
    """The checkpoint the provider calls between chunks (see the module's docstring)."""

    def __init__(self, item: GenerationItem, worker: str, deadline: float | None) -> None:
        settings = get_settings()
        self.item = item
        self.worker = worker
        self.deadline = deadline
        self.lease = settings.item_lease_seconds
        self.heartbeat_every = max(1.0, self.lease / 3)
        self.cancel_every = 0.25
        self.next_cancel_check = time.monotonic()
        self.stop: type[Exception] | None = None  # set by the heartbeat thread
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._keep_lease, name=f"lease-item-{item.id}", daemon=True
        )

    def __enter__(self) -> Checkpoint:
        cancel_flags.forget(self.item.task_id)  # the claim saw the batch not cancelled
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=10)

    def _keep_lease(self) -> None:
        while not self._done.wait(self.heartbeat_every):
            try:
                with session_scope() as session:
                    batch = session.get(AIGenerationTask, self.item.task_id)
                    if batch is not None and batch.cancel_requested:
                        self.stop = Cancelled
                    elif not state.heartbeat(session, self.item.id, self.worker, self.lease):
                        self.stop = LeaseLost
            except Exception as exc:  # the lease has slack for a missed beat or two
                log.warning("item %s: lease heartbeat failed: %s", self.item.id, exc)
            if self.stop is not None:
                return

    def __call__(self, _size: int) -> None:
        if self.stop is not None:
            raise self.stop()
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline:
            raise DeadlineExceeded()
        if now >= self.next_cancel_check:
            self.next_cancel_check = now + self.cancel_every
            if cancel_flags.cancel_flagged(self.item.task_id):
                raise Cancelled()
