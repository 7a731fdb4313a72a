"""Review pinned to the version read, publish now or at a time, unpublish, and the scheduled
publishes the workers' maintenance loops fire exactly once (real databases, real Redis)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from app.articles import publishing, repository, service
from app.articles.errors import ArticleError
from app.articles.models import Article
from app.core.db import session_scope
from app.core.models import utcnow
from app.worker.loop import Job, MaintenanceLoop
from tests.support.articles import EN_ARTICLE, add_batch
from tests.support.stack import wait_for


def _article() -> int:
    _batch, (article_id,) = add_batch([EN_ARTICLE])
    return article_id


def _get(article_id: int) -> Article:
    with session_scope() as session:
        article = session.get(Article, article_id)
        assert article is not None
        session.expunge(article)
        return article


def _refused(call, *args, **kwargs) -> ArticleError:
    with pytest.raises(ArticleError) as err, session_scope() as session:
        call(session, *args, **kwargs)
    return err.value


def _approve(article_id: int, version: int) -> None:
    with session_scope() as session:
        service.review(session, article_id, "approve", version=version)


def test_a_review_carries_the_version_read_stale_is_409_none_is_428(db):
    article_id = _article()
    with session_scope() as session:
        service.edit(session, article_id, version=1, content="# Index funds\n\nEdited.")
    stale = _refused(service.review, article_id, "approve", version=1)
    assert (stale.status_code, stale.field) == (409, "version")
    assert "is at version 2, not 1" in stale.message
    assert _refused(service.review, article_id, "reject", version=None).status_code == 428
    assert _get(article_id).status == "draft"
    _approve(article_id, 2)
    assert _refused(service.review, article_id, "publish", version=1).status_code == 409
    with session_scope() as session:
        published = service.review(session, article_id, "publish", version=2)
        assert (published.status, published.published_version) == ("published", 2)
        assert published.published_at is not None and published.slug == "index-funds-explained"


def test_an_edit_of_a_published_article_keeps_it_live_until_the_edit_is_published(db):
    article_id = _article()
    _approve(article_id, 1)
    with session_scope() as session:
        first = service.review(session, article_id, "publish", version=1).published_at
    with session_scope() as session:
        edited = service.edit(session, article_id, version=1, content="# Index funds\n\nNew.")
        assert (edited.status, edited.version, edited.published_version) == ("draft", 2, 1)
    _approve(article_id, 2)
    with session_scope() as session:
        again = service.review(session, article_id, "publish", version=2)
        assert (again.published_version, again.published_at) == (2, first)


def test_schedules_are_in_the_future_within_a_year_and_zoned(db):
    article_id = _article()
    _approve(article_id, 1)
    now = utcnow()
    for when, why in ((now - timedelta(seconds=1), "in the future"),
                      (now + timedelta(days=400), "at most 366 days"),
                      (datetime(2030, 1, 1), "time zone"), (None, "required")):
        err = _refused(publishing.schedule, article_id, version=1, publish_at=when)
        assert (err.status_code, err.field) == (422, "publish_at") and why in err.message
    draft = _article()
    err = _refused(publishing.schedule, draft, version=1, publish_at=now + timedelta(hours=1))
    assert err.status_code == 409 and "is draft" in err.message


def test_a_scheduled_publish_fires_once_from_two_workers_loops_and_not_before(db):
    article_id = _article()
    _approve(article_id, 1)
    when = utcnow() + timedelta(seconds=2)
    with session_scope() as session:
        scheduled = publishing.schedule(session, article_id, version=1,
                                        publish_at=when.astimezone(UTC))
        assert scheduled.status == "scheduled"
        assert scheduled.publish_at.replace(tzinfo=UTC) == when
    assert publishing.publish_due(when - timedelta(milliseconds=1)) == []
    published: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        done = publishing.publish_due()
        with lock:
            published.extend(done)

    # Two workers' loops, each job on its own thread with its own lock per tick (interval
    # short so both keep asking); and two more bare racers without the loop's lock.
    loops = [MaintenanceLoop([Job("publish-scheduled", 0.1, run)]).start() for _ in range(2)]
    racers = [threading.Thread(target=run) for _ in range(2)]
    try:
        wait_for(lambda: _get(article_id).status == "published", timeout=15,
                 message="the scheduled publish")
        assert utcnow() >= when
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
    finally:
        for loop in loops:
            loop.stop()
    assert published == [article_id]
    article = _get(article_id)
    assert (article.published_version, article.publish_at) == (1, None)


def test_the_conditional_update_publishes_once_however_many_race(db):
    article_id = _article()
    _approve(article_id, 1)
    with session_scope() as session:
        publishing.schedule(session, article_id, version=1,
                            publish_at=utcnow() + timedelta(seconds=1))
    later = utcnow() + timedelta(seconds=5)
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        barrier.wait()
        with session_scope() as session:
            wins.append(repository.publish_due(session, article_id, later))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, False, False, True]


def test_unpublish_takes_the_live_version_down_or_cancels_a_schedule(db):
    article_id = _article()
    assert _refused(publishing.unpublish, article_id).status_code == 409
    _approve(article_id, 1)
    with session_scope() as session:
        service.review(session, article_id, "publish", version=1)
    with session_scope() as session:
        down = publishing.unpublish(session, article_id, reviewer="Ana")
        assert (down.status, down.published_version, down.published_at) == (
            "approved", None, None)
    with session_scope() as session:
        publishing.schedule(session, article_id, version=1,
                            publish_at=utcnow() + timedelta(hours=1))
    with session_scope() as session:
        cancelled = publishing.unpublish(session, article_id)
        assert (cancelled.status, cancelled.publish_at) == ("approved", None)


def test_the_routes_pin_the_version_and_schedule_in_utc(api):
    article_id = _article()
    url = f"/api/articles/{article_id}"
    assert api.post(f"{url}/approve").status_code == 428
    assert api.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 409
    assert api.post(f"{url}/approve", headers={"If-Match": '"1"'}).status_code == 200
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    local = when.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    scheduled = api.post(f"{url}/schedule", json={"publish_at": "2020-01-01T00:00:00Z",
                                                   "version": 1})
    assert scheduled.status_code == 422 and "publish_at" in scheduled.text
    scheduled = api.post(f"{url}/schedule", json={"publish_at": local, "version": 1})
    assert scheduled.status_code == 200, scheduled.text
    assert datetime.fromisoformat(scheduled.json()["publish_at"]) == when
    published = api.post(f"{url}/publish", json={"version": 1})
    assert published.json()["status"] == "published", published.text
    assert api.post(f"{url}/unpublish").json()["published_version"] is None
