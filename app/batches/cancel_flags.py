"""Cancel flags in Redis: set after the cancel commits, read between streamed chunks.

Best effort: a worker also sees the cancel in the database on its next lease heartbeat.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

import redis
from sqlalchemy.orm import Session

from app.core import names, outbox
from app.core.redis import get_redis

log = logging.getLogger(__name__)


def flag_cancel(session: Session, batch_id: str) -> None:
    """Raise the batch's cancel flag once `session` commits (so a worker that sees the flag
    also sees the cancelled items)."""
    outbox.after_commit(session, partial(raise_flag, batch_id),
                        f"raise the cancel flag of batch {batch_id}")


def raise_flag(batch_id: str) -> None:
    """Run after the commit of a cancel (app.batches.service.cancel), by the process that
    committed it (the API's request): running items see it at their next checkpoint."""
    try:
        get_redis().set(names.cancel_key(batch_id), "1", ex=names.CANCEL_TTL_SECONDS)
    except redis.RedisError as exc:
        # Workers also see the cancel through the database on their next heartbeat.
        log.warning("could not set the cancel flag of batch %s: %s", batch_id, exc)


def clear_cancel(session: Session, batch_id: str) -> None:
    """Lower the flag once `session` commits: an editor regenerates an item of a cancelled
    batch (app/batches/regenerate.py), which must be able to run."""
    outbox.after_commit(session, partial(lower_flag, batch_id),
                        f"lower the cancel flag of batch {batch_id}")


def lower_flag(batch_id: str) -> None:
    """Run after the commit that reopened an item of a cancelled batch
    (app.batches.regenerate), by the process that committed it, before the feeder sends the
    item's message (both after that commit, in this order): its run must not stop on it."""
    try:
        get_redis().delete(names.cancel_key(batch_id))
    except redis.RedisError as exc:
        log.warning("could not clear the cancel flag of batch %s: %s", batch_id, exc)


# Answers shared by every item of a batch running in this process (threads pool: up to
# --concurrency of them), so a process asks Redis about a batch at most every CANCEL_MAX_AGE s
# instead of each stream every checkpoint. A cancel still stops streams within a second.
CANCEL_MAX_AGE = 0.5
_seen: dict[str, tuple[float, bool]] = {}


_asking = threading.Lock()


def forget(batch_id: str) -> None:
    """Drop this process's answer for the batch: an item is claimed only while its batch is
    not cancelled, so a "cancelled" seen before the claim is out of date (a regeneration
    lowered the flag since). A cached "not cancelled" stays: it costs no Redis round trip."""
    cached = _seen.get(batch_id)
    if cached is not None and cached[1]:
        _seen.pop(batch_id, None)


def cancel_flagged(batch_id: str) -> bool:
    now = time.monotonic()
    cached = _seen.get(batch_id)
    if cached is not None and (cached[1] or now - cached[0] < CANCEL_MAX_AGE):
        return cached[1]
    # One thread asks; the others keep the answer they have rather than asking too.
    if cached is not None and not _asking.acquire(blocking=False):
        return cached[1]
    if cached is None:
        _asking.acquire()
    try:
        flagged = bool(get_redis().exists(names.cancel_key(batch_id)))
    except redis.RedisError:
        return False
    finally:
        _asking.release()
    if len(_seen) > 1000:  # forget batches not asked about for a while
        for key, (when, _) in list(_seen.items()):
            if now - when > 60:
                _seen.pop(key, None)
    _seen[batch_id] = (time.monotonic(), flagged)
    return flagged
