"""A worker's send of one publication: read (one transaction), talk to the site (none held),
record (another). One worker at a time per publication, so two sends never both create.

The crash window: WordPress created the post and the worker died before our commit. The
publication then has no remote id, and the next send finds the post by its slug and marker
(app.publishing.remote.send) and updates it: still one post.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis

from app.core import names, outbox
from app.core.db import session_scope
from app.core.redis import get_redis
from app.publishing import remote, service
from app.publishing.errors import RemoteError
from app.publishing.service import Attempt
from app.publishing.wordpress import mask

log = logging.getLogger(__name__)

# The lock outlives the slowest send (each request times out at 20 s); a holder whose worker
# died (no heartbeat, app.core.workers) is taken over at once.
LOCK_SECONDS = 300
BUSY_RETRY_SECONDS = 3.0
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def _take(client: redis.Redis, key: str, holder: str) -> bool:
    if client.set(key, holder, nx=True, ex=LOCK_SECONDS):
        return True
    current = client.get(key)
    owner = current.decode() if isinstance(current, bytes) else current
    if owner and not client.exists(names.worker_key(owner)):
        log.warning("publication lock %s: its worker %s is gone, taking over", key, owner)
        client.delete(key)
        return bool(client.set(key, holder, nx=True, ex=LOCK_SECONDS))
    return False


@contextmanager
def _turn(task: str, publication_id: int, worker: str) -> Iterator[bool]:
    """This worker's turn on the publication, or False (the task is sent again shortly)."""
    client = get_redis()
    key = names.publication_lock(publication_id)
    if not _take(client, key, worker):
        with session_scope() as session:
            outbox.enqueue(session, task, [publication_id], countdown=BUSY_RETRY_SECONDS)
        yield False
        return
    try:
        yield True
    finally:
        client.eval(_RELEASE, 1, key, worker)


def _begin(publication_id: int, *, withdraw: bool) -> Attempt | None:
    with session_scope() as session:
        return service.begin_attempt(session, publication_id, withdraw=withdraw)


@contextmanager
def _answers_as_remote_errors(site_password: str) -> Iterator[None]:
    """A 2xx whose JSON lacks what WordPress always sends (a proxy's or plugin's answer) is the
    site's error, retried like one, never a crash that leaves the send queued."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise RemoteError(mask(f"unexpected answer from the site: {exc!r}", site_password),
                          permanent=False) from None


def _check_https(attempt: Attempt) -> None:
    if attempt.require_https and urlsplit(attempt.site.base_url).scheme != "https":
        raise RemoteError("base_url: this target requires HTTPS and its URL is http://; "
                          "nothing was sent", permanent=True)


def _failed(attempt: Attempt, error: RemoteError, task: str) -> None:
    with session_scope() as session:
        delay = service.record_failure(session, attempt, error, task)
    log.warning("publication %s: %s (%s)", attempt.publication_id, error.message,
                "failed" if delay is None else f"again in {delay:.0f} s")


def push(publication_id: int, worker: str) -> None:
    """Send the article to its target: the post created, or our earlier one updated."""
    task = names.PUSH_PUBLICATION_TASK
    with _turn(task, publication_id, worker) as mine:
        attempt = _begin(publication_id, withdraw=False) if mine else None
        if attempt is None:
            return
        try:
            _check_https(attempt)
            with _answers_as_remote_errors(attempt.site.password):
                sent = remote.send(attempt.site, attempt.draft, attempt.target_key,
                                   attempt.remote_id)
        except RemoteError as exc:
            _failed(attempt, exc, task)
            return
        with session_scope() as session:
            service.record_sent(session, attempt, sent)


def requeue_lost() -> None:
    """The worker maintenance loop's job (app/worker/loop.py): queued sends long overdue are
    sent again (service.requeue_lost)."""
    with session_scope() as session:
        lost = service.requeue_lost(session)
    if lost:
        log.warning("publishing: %d queued send(s) were overdue, sent again: %s", len(lost), lost)


def withdraw(publication_id: int, worker: str) -> None:
    """Move the post to draft or the trash (the target's unpublish setting)."""
    task = names.WITHDRAW_PUBLICATION_TASK
    with _turn(task, publication_id, worker) as mine:
        attempt = _begin(publication_id, withdraw=True) if mine else None
        if attempt is None or attempt.remote_id is None:
            return
        try:
            _check_https(attempt)
            with _answers_as_remote_errors(attempt.site.password):
                status = remote.withdraw(attempt.site, attempt.remote_id,
                                         attempt.unpublish_action)
        except RemoteError as exc:
            _failed(attempt, exc, task)
            return
        with session_scope() as session:
            service.record_withdrawn(session, attempt, status)
