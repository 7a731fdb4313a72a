"""The request an item is written with, and the verdict on what came back (no workers)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.articles import repository as articles_repo
from app.articles.models import Article
from app.articles.service import Quality
from app.batches import service, state
from app.batches.generation import quality_gate
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import get_engine, session_scope
from app.llm.base import ArticleRequest, Generated
from app.llm.offline import draft
from app.profiles import service as profiles
from tests.support import duplicates as library


def _item(title: str, category: str = "guide", language: str | None = None
          ) -> tuple[GenerationItem, AIGenerationTask]:
    with session_scope() as session:
        batch = service.create_batch(session, [title], category, language=language)
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        session.expunge_all()
        return item, batch


def _job(item: GenerationItem, batch: AIGenerationTask) -> quality_gate.Job:
    with session_scope() as session:
        return quality_gate.prepare(session, item, batch)


def _answer(job: quality_gate.Job, text: str | None = None, finish: str = "stop") -> Generated:
    content = text if text is not None else draft(job.request)
    return Generated(content=content, provider="test", model="m", finish_reason=finish)


def test_the_request_follows_the_language_and_the_profile(db):
    item, batch = _item("什么是 ETF？新手投资入门", "review")
    job = _job(item, batch)
    assert (job.request.language, job.request.min_length, job.request.max_length) == (
        "zh-CN", 1200, 2000)  # the built-in review profile, in characters
    assert "Pros and cons" in (job.request.instructions or "")
    assert (job.profile.id, job.profile.version, job.request.model) == (None, 0, None)
    with session_scope() as session:
        stored = profiles.update(session, "review", {"model": "review-model", "min_words": 300,
                                                     "temperature": 0.3})
    item, batch = _item("Broker review", "review", "en")
    job = _job(item, batch)
    assert (job.request.language, job.request.min_length, job.request.max_length) == (
        "en", 300, 1200)
    assert (job.request.model, job.request.temperature) == ("review-model", 0.3)
    assert (job.profile.id, job.profile.version) == (stored.id, 1)


def test_a_good_article_is_kept_as_a_draft(db):
    item, batch = _item("Index funds explained", language="en")
    job = _job(item, batch)
    verdict = quality_gate.judge(item, job, _answer(job))
    assert verdict.quality is not None
    assert (verdict.quality.status, verdict.quality.flags) == ("draft", [])
    assert (verdict.quality.language, verdict.quality.profile_version) == ("en", 0)


def test_a_failed_check_is_written_again_once_then_kept_for_review(db):
    item, batch = _item("Index funds explained", language="en")
    job = _job(item, batch)
    short = _answer(job, "# Index funds explained\n\nToo short to be an article.")
    again = quality_gate.judge(item, job, short)
    assert again.quality is None and again.reason.startswith("quality: too short")
    assert "rejected by the site's quality checks" in again.feedback
    assert "at least 700 words" in again.feedback
    item.regenerations = 1  # QUALITY_MAX_REGENERATIONS (1) used up
    kept = quality_gate.judge(item, job, short)
    assert kept.quality is not None and kept.quality.status == "needs_review"
    assert {f["name"] for f in kept.quality.flags or []} == {"length", "structure"}


def test_the_editors_feedback_stays_in_front_of_the_checks(db):
    item, batch = _item("Index funds explained", language="en")
    job = replace(_job(item, batch), note="Add a table of fees")
    verdict = quality_gate.judge(item, job, _answer(job, "# Short\n\nNo."))
    assert verdict.feedback.startswith("Add a table of fees\n\nThe previous draft")
    assert quality_gate.editor_feedback(verdict.feedback) == "Add a table of fees"
    assert quality_gate.editor_feedback(verdict.feedback.split("\n\n", 1)[1]) is None


def test_a_truncated_answer_is_kept_for_review_at_once(db):
    item, batch = _item("Index funds explained", language="en")
    job = _job(item, batch)
    verdict = quality_gate.judge(item, job, _answer(job, finish="length"))
    assert verdict.quality is not None and verdict.quality.status == "needs_review"
    assert [f["name"] for f in verdict.quality.flags or []] == ["truncated"]


def test_a_near_copy_of_another_article_of_the_category_is_a_duplicate(db):
    first, batch = _item("Index funds explained", language="en")
    job = _job(first, batch)
    original = _answer(job)
    with session_scope() as session:
        state.complete_item(session, first, "guide", original)
        article_id = session.query(Article).one().id
    item, batch = _item("Index funds, explained again", language="en")
    job = _job(item, batch)
    copy = quality_gate.judge(item, job, replace(original, content=original.content + "\nP.S."))
    assert copy.quality is None and f"near-duplicate of article {article_id}" in copy.reason
    fresh = quality_gate.judge(item, job, _answer(job))
    assert fresh.quality is not None and fresh.quality.status == "draft"
    # Its own article (a regeneration) is not a duplicate of itself.
    own = quality_gate.judge(first, _job(first, batch), original)
    assert own.quality is not None and own.quality.status == "draft"


@pytest.mark.parametrize(("title", "other", "language"), [
    ("Index funds explained", "Budgeting for students", "en"),
    ("什么是 ETF？新手投资入门", "比特币钱包安全指南", "zh-CN")])
def test_a_near_copy_of_an_article_1000_articles_old_is_a_duplicate(db, title, other, language):
    """The check used to read the category's 200 newest articles: an older one passed."""
    first, batch = _item(title, language=language)
    original = _answer(_job(first, batch))
    with session_scope() as session:
        state.complete_item(session, first, "guide", original,
                            quality=Quality(language=language))
        oldest = session.query(Article).one().id
    library.library(1000, language=language)
    item, batch = _item(other, language=language)
    job = _job(item, batch)
    copy = quality_gate.judge(item, job, replace(original, content=original.content + "\nP.S."))
    assert copy.quality is None and f"near-duplicate of article {oldest}" in copy.reason
    fresh = quality_gate.judge(item, job, _answer(job))
    assert fresh.quality is not None and fresh.quality.status == "draft"


def test_checks_that_are_off_do_not_run(db, monkeypatch):
    from tests.support.stack import use_settings

    monkeypatch.setenv("QUALITY_CHECKS", "refusal")
    use_settings()
    try:
        item, batch = _item("Index funds explained", language="en")
        job = _job(item, batch)
        verdict = quality_gate.judge(item, job, _answer(job, "# Short\n\nNo."))
        assert verdict.quality is not None and verdict.quality.status == "draft"
        refusal = _answer(job, "As an AI language model, I cannot write this.")
        assert quality_gate.judge(item, job, refusal).quality is None
    finally:
        monkeypatch.delenv("QUALITY_CHECKS")
        use_settings()


def test_the_prompt_carries_the_feedback(db):
    item, batch = _item("Index funds explained", language="en")
    item.feedback = "Shorter, with a table of fees"  # as claim_item loads it
    job = _job(item, batch)
    assert isinstance(job.request, ArticleRequest)
    assert job.request.feedback == "Shorter, with a table of fees"
    assert job.note == "Shorter, with a table of fees"


def test_a_connection_the_database_drops_while_reading_the_corpus_is_read_again(db,
                                                                                monkeypatch):
    """A PostgreSQL restart mid-batch killed the duplicate check's query: the article was kept
    as needs_review, flagged "unchecked" with the SQL statement and its parameters."""
    if not db.startswith("postgresql"):
        pytest.skip("terminates a PostgreSQL backend")
    item, batch = _item("Index funds explained", language="en")
    job = _job(item, batch)
    real, calls = articles_repo.signature_candidates, []

    def dropped_once(session, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # as a restart does: the server ends this very connection
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with get_engine().connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return real(session, *args, **kwargs)

    monkeypatch.setattr(articles_repo, "signature_candidates", dropped_once)
    verdict = quality_gate.judge(item, job, _answer(job))
    assert len(calls) == 2
    assert verdict.quality is not None
    assert (verdict.quality.status, verdict.quality.flags) == ("draft", [])


def test_checks_that_cannot_run_say_why_in_one_line(db, monkeypatch):
    item, batch = _item("Index funds explained", language="en")
    job = _job(item, batch)

    def down(*args, **kwargs):
        raise OperationalError("SELECT articles.content FROM articles", {"category_1": "guide"},
                               Exception("server closed the connection unexpectedly\n\tmore"))

    monkeypatch.setattr(articles_repo, "signature_candidates", down)
    verdict = quality_gate.judge(item, job, _answer(job))
    assert verdict.quality is not None and verdict.quality.status == "needs_review"
    assert verdict.quality.flags == [{"name": "unchecked", "message": (
        "the quality checks could not run: OperationalError: server closed the connection "
        "unexpectedly")}]
