"""Each refusal of the batches domain is its own type carrying what it is about, raised where the
state forbids the request, with the status, field and message the API has always answered."""

from __future__ import annotations

import pytest

from app import celery_app  # noqa: F401  (binds the Celery app the outbox sends through)
from app.articles.models import Article
from app.batches import regenerate, repository, resume, service, state
from app.batches.errors import (
    ArticleBusy,
    ArticleNotFound,
    ArticleWithoutItem,
    BatchCancelled,
    BatchEnded,
    BatchError,
    BatchNotFound,
    BatchNotPaused,
    BatchRunning,
    BatchStillOverCap,
    IdempotencyConflict,
    NothingToRetry,
)
from app.batches.models import AIGenerationTask, GenerationItem
from app.batches.spend.budget import Refusal
from app.core.db import session_scope
from app.core.models import utcnow
from app.llm.base import Generated


def _batch(titles: tuple[str, ...] = ("One",), **fields: object) -> str:
    with session_scope() as session:
        return service.create_batch(session, list(titles), "guide", **fields).id


def _complete_all(batch_id: str) -> None:
    with session_scope() as session:
        items = session.query(GenerationItem).filter(GenerationItem.task_id == batch_id).all()
        for item in items:
            claimed = state.claim_item(session, item.id, "w/1", lease=60)
            assert claimed is not None
            state.complete_item(session, claimed, "guide",
                                Generated(content="# T\n\nBody", provider="test", model="m"))


def _cancelled() -> str:
    batch_id = _batch()
    with session_scope() as session:
        service.cancel(session, batch_id)
    return batch_id


def _raised(kind: type[BatchError], call, *args: object) -> BatchError:  # noqa: ANN001
    """What `call(session, *args)` raised, its carried rows readable after the session."""
    with session_scope() as session:
        with pytest.raises(kind) as raised:
            call(session, *args)
        for name in ("batch", "article", "item"):
            carried = getattr(raised.value, name, None)
            if carried is not None and carried in session:
                session.expunge(carried)
    return raised.value


@pytest.mark.parametrize("call, args", [
    (service.get_or_404, ()), (service.cancel, ()), (service.retry_failed, ()),
    (service.resume, ()), (service.update, ({"priority": "high"},))])
def test_an_unknown_batch_is_batch_not_found(db, call, args):
    error = _raised(BatchNotFound, call, "nope", *args)
    assert error.batch_id == "nope" and error.status_code == 404
    assert error.as_body() == {"detail": "task_id: no batch 'nope'",
                               "errors": [{"field": "task_id", "message": "no batch 'nope'"}]}


def test_cancelling_or_changing_an_ended_batch_is_batch_ended(db):
    batch_id = _cancelled()
    for error in (_raised(BatchEnded, service.cancel, batch_id),
                  _raised(BatchEnded, service.update, batch_id, {"priority": "high"})):
        assert isinstance(error.batch, AIGenerationTask) and error.batch.id == batch_id
        assert (error.status_code, error.field, error.message) == (
            409, "task_id", f"batch {batch_id} already ended with status cancelled")


def test_retrying_a_batch_that_has_not_ended_is_batch_running(db):
    batch_id = _batch()
    error = _raised(BatchRunning, service.retry_failed, batch_id)
    assert error.batch.id == batch_id and error.status_code == 409
    assert error.message == f"batch {batch_id} is still pending; wait for it to end"


def test_retrying_a_cancelled_batch_is_batch_cancelled(db):
    batch_id = _cancelled()
    error = _raised(BatchCancelled, service.retry_failed, batch_id)
    assert error.batch.id == batch_id and error.status_code == 409
    assert error.message == (f"batch {batch_id} was cancelled; submit its titles again "
                             "instead")


def test_retrying_a_batch_with_no_failures_is_nothing_to_retry(db):
    batch_id = _batch()
    _complete_all(batch_id)
    error = _raised(NothingToRetry, service.retry_failed, batch_id)
    assert error.batch.status == "completed" and error.status_code == 409
    assert error.message == f"batch {batch_id} has no failed items"


def test_resuming_a_batch_that_is_not_paused_is_batch_not_paused(db):
    batch_id = _batch()
    error = _raised(BatchNotPaused, service.resume, batch_id)
    assert error.batch.id == batch_id and error.status_code == 409
    assert error.message == f"batch {batch_id} is pending, not paused"


def test_the_automatic_resume_passes_over_exactly_those_refusals(db):
    """A batch due to resume but cancelled meanwhile is BatchNotPaused: resume_due skips it
    and resumes the others."""
    cancelled, paused = _batch(), _batch()
    refusal = Refusal(cap="daily", limit_usd=1.0, spent_usd=1.0, amount_usd=0.1,
                      reason="daily budget of $1.00 reached; resumes at 00:00 UTC",
                      resume_at=utcnow())
    for batch_id in (cancelled, paused):
        with session_scope() as session:
            batch = state.lock_batch(session, batch_id)
            assert batch is not None
            state.pause_batch(session, batch, refusal)
    with session_scope() as session:
        service.cancel(session, cancelled)
    assert resume.resume_due() == [paused]


def test_an_editors_resume_that_would_pause_again_is_batch_still_over_cap(db):
    batch_id = _batch(max_cost_usd=0.5)
    refusal = Refusal(cap="batch", limit_usd=0.5, spent_usd=0.0, amount_usd=1.0,
                      reason="batch budget of $0.50 is below one call's worst-case cost",
                      resume_at=None)
    with session_scope() as session:
        batch = state.lock_batch(session, batch_id)
        assert batch is not None
        state.pause_batch(session, batch, refusal)
    error = _raised(BatchStillOverCap, service.resume, batch_id)
    assert error.batch.id == batch_id and error.status_code == 409
    assert error.message == f"batch {batch_id} would pause again: {error.reason}"
    assert "raise max_cost_usd with PATCH first" in error.reason


def test_a_key_reused_for_another_request_is_idempotency_conflict(db):
    with session_scope() as session:
        first, _ = service.submit(session, ["A"], "guide", idempotency_key="k1")
    error = _raised(IdempotencyConflict, service.submit, ["B"], "guide", "k1")
    assert error.batch.id == first.id
    assert (error.status_code, error.field, error.message) == (
        409, "idempotency-key", "this Idempotency-Key was already used for a different batch")


def test_regenerating_an_unknown_article_is_article_not_found(db):
    error = _raised(ArticleNotFound, regenerate.regenerate, 123_456)
    assert error.article_id == 123_456
    assert (error.status_code, error.field, error.message) == (
        404, "article_id", "no article 123456")


def test_regenerating_an_article_whose_item_is_running_is_article_busy(db):
    batch_id = _batch(("One", "Two"))
    _complete_all(batch_id)
    with session_scope() as session:
        article_id = session.query(Article.id).filter(Article.task_id == batch_id).first()[0]
        regenerate.regenerate(session, article_id)
    error = _raised(ArticleBusy, regenerate.regenerate, article_id)
    assert error.article.id == article_id and error.item.status == "pending"
    assert (error.status_code, error.message) == (
        409, f"article {article_id} is being written already (its item is pending); wait for "
        "it to end")


def test_an_article_without_its_batch_is_article_without_item():
    article = Article(id=7, title="t", content="c", category="guide")
    error = ArticleWithoutItem(article)
    assert error.article is article
    assert error.as_body()["detail"] == "article_id: article 7 has no batch item"
    assert error.status_code == 404


def test_a_bad_value_is_still_the_plain_422(db):
    with pytest.raises(BatchError) as bad, session_scope() as session:
        service.submit(session, ["A"], "../etc")
    assert type(bad.value) is BatchError
    assert (bad.value.status_code, bad.value.field) == (422, "category")
    with session_scope(read_only=True) as session:
        assert repository.list_batches(session, limit=10, offset=0)[1] == 0
