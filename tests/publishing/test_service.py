"""Publications queued through the outbox (the message reaches the `publishing` queue after the
commit): auto-publish on an article event, dates kept in UTC, lost sends sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.articles import publishing
from app.articles import service as articles
from app.core import names
from app.core.db import session_scope
from app.publishing import repository, service
from app.publishing.models import PublishTarget
from tests.support.articles import EN_ARTICLE, add_batch
from tests.support.faults import queue_length


def _target(session: object, name: str, auto: str, status: str = "draft") -> int:
    target = PublishTarget(name=name, base_url="https://example.com", username="u",
                           app_password="p", auto_publish=auto, default_status=status,
                           category_map={}, unpublish_action="draft", require_https=True)
    session.add(target)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return target.id


def test_an_approval_queues_the_on_approve_targets_only(db: str) -> None:
    _, (article_id,) = add_batch([EN_ARTICLE])
    with session_scope() as session:
        on_approve = _target(session, "a", "on_approve")
        on_publish = _target(session, "b", "on_publish")
        manual = _target(session, "c", "manual")
        scheduled = _target(session, "d", "on_approve", status="future")
    with session_scope() as session:
        service.on_article_event(session, article_id, "approved")
        assert queue_length(names.PUBLISHING_QUEUE) == 0  # nothing before the commit

    with session_scope() as session:
        states = {p.target_id: (p.state, p.last_error)
                  for p in repository.publications_of(session, article_id)}
    assert set(states) == {on_approve, scheduled}
    assert states[on_approve] == ("queued", None)
    assert states[scheduled][0] == "failed" and "date_gmt" in str(states[scheduled][1])
    assert on_publish not in states and manual not in states
    assert queue_length(names.PUBLISHING_QUEUE) == 1


def test_a_future_date_is_stored_in_utc(db: str) -> None:
    _, (article_id,) = add_batch([EN_ARTICLE])
    when = datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC)
    with session_scope() as session:
        target_id = _target(session, "a", "manual")
        publication = service.request_publish(session, article_id, target_id,
                                              status=service.PostStatus.FUTURE, date_gmt=when)
        assert publication.requested_status == "future"
    with session_scope() as session:
        stored = repository.publication_of(session, article_id, target_id)
        assert stored is not None
        assert stored.date_gmt is not None
        assert stored.date_gmt.replace(tzinfo=UTC) == when


def test_a_queued_send_long_overdue_is_sent_again(db: str) -> None:
    _, (old_id, new_id) = add_batch([EN_ARTICLE, {**EN_ARTICLE, "title": "Another"}])
    with session_scope() as session:
        target_id = _target(session, "a", "manual")
        lost = service.request_publish(session, old_id, target_id)
        fresh = service.request_publish(session, new_id, target_id)
        lost.next_attempt_at = lost.next_attempt_at - timedelta(hours=1)  # type: ignore[operator]
    assert queue_length(names.PUBLISHING_QUEUE) == 2

    with session_scope() as session:
        requeued = service.requeue_lost(session)
    assert requeued == [lost.id] and fresh.id not in requeued
    assert queue_length(names.PUBLISHING_QUEUE) == 3
    with session_scope() as session:
        assert service.requeue_lost(session) == []  # due again only after another wait


def test_a_send_that_keeps_dying_gives_up(db: str) -> None:
    _, (article_id,) = add_batch([EN_ARTICLE])
    with session_scope() as session:
        target_id = _target(session, "a", "manual")
        publication_id = service.request_publish(session, article_id, target_id).id
    for _ in range(service.MAX_ATTEMPTS):  # each attempt's worker died before any answer
        with session_scope() as session:
            assert service.begin_attempt(session, publication_id) is not None
    with session_scope() as session:
        assert service.begin_attempt(session, publication_id) is None
        publication = repository.get_publication(session, publication_id)
        assert publication is not None
        assert publication.state == "failed"
        assert f"gave up after {service.MAX_ATTEMPTS} attempts" in str(publication.last_error)


def test_the_article_transitions_queue_auto_publishing_targets(db: str) -> None:
    """Approve and a publish that came due on schedule reach publishing through the article
    events (app.articles.events), in their own transactions: no caller wires it by hand."""
    _, (article_id,) = add_batch([EN_ARTICLE])
    with session_scope() as session:
        on_approve = _target(session, "on approve", "on_approve")
        on_publish = _target(session, "on publish", "on_publish")
    with session_scope() as session:
        articles.review(session, article_id, "approve", version=1, reviewer="李娜")
    with session_scope() as session:
        assert {p.target_id for p in repository.publications_of(session, article_id)} == {
            on_approve}
    soon = datetime.now(UTC) + timedelta(seconds=1)
    with session_scope() as session:
        articles.review(session, article_id, "schedule", version=1, publish_at=soon)
    assert publishing.publish_due(now=soon + timedelta(seconds=1)) == [article_id]
    with session_scope() as session:
        assert {p.target_id for p in repository.publications_of(session, article_id)} == {
            on_approve, on_publish}
    assert queue_length(names.PUBLISHING_QUEUE) == 2
