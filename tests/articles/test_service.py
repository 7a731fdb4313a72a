"""Review transitions, edits as versions and stored generations, on a real database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete

from app.articles import service
from app.articles.enums import ArticleStatus
from app.articles.errors import ArticleError
from app.articles.models import Article, ArticleVersion
from app.batches import service as batches
from app.batches import state
from app.core.db import session_scope
from app.llm.base import Generated

DRAFT = Generated(content="# One\n\n## A\n\nBody.", provider="test", model="m1",
                  prompt_tokens=3, completion_tokens=5)


def _article(status: str = ArticleStatus.DRAFT) -> int:
    """A batch of one title whose item completed with an article in `status`."""
    with session_scope() as session:
        batch = batches.create_batch(session, ["One"], "guide", language="en")
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        state.complete_item(session, item, "guide", DRAFT, quality=service.Quality(status=status))
        article = session.query(Article).one()
        return article.id


def _get(article_id: int) -> Article:
    with session_scope() as session:
        article = session.get(Article, article_id)
        assert article is not None
        session.expunge(article)
        return article


def _conflict(call, *args, **kwargs) -> ArticleError:
    with pytest.raises(ArticleError) as err, session_scope() as session:
        call(session, *args, **kwargs)
    return err.value


def test_a_generation_is_stored_as_version_one(db):
    article_id = _article()
    with session_scope() as session:
        rows = service.versions(session, article_id)
        assert [(v.version, v.source, v.model) for v in rows] == [(1, "generated", "m1")]
        article = session.get(Article, article_id)
        assert article is not None and (article.version, article.status) == (1, "draft")
        assert article.quality_flags == [] and article.updated_at is not None


def test_approve_then_publish_records_who_when_and_why(db):
    article_id = _article()
    with session_scope() as session:
        article = service.review(session, article_id, "approve", version=1, note="Good to go",
                                 reviewer="  Li   Wei ")
        assert (article.status, article.reviewer, article.review_note) == (
            "approved", "Li Wei", "Good to go")
        assert article.reviewed_at is not None
    err = _conflict(service.review, article_id, "approve", version=1)
    assert err.status_code == 409 and err.field == "status"
    assert "is approved: only draft or needs_review articles can be approved" in err.message
    with session_scope() as session:
        assert service.review(session, article_id, "publish", version=1).status == "published"
    for action in ("approve", "reject", "publish"):
        err = _conflict(service.review, article_id, action, version=1)
        assert err.status_code == 409 and f"article {article_id} is published" in err.message


def test_only_approved_articles_are_published(db):
    for status in ("draft", "needs_review", "rejected"):
        article_id = _article(status)
        err = _conflict(service.review, article_id, "publish", version=1)
        assert err.status_code == 409
        assert f"is {status}: only approved or scheduled articles can be published" in err.message
        with session_scope() as session:
            session.execute(delete(Article))


def test_a_rejected_article_is_a_draft_again_after_an_edit(db):
    article_id = _article(ArticleStatus.NEEDS_REVIEW)
    with session_scope() as session:
        assert service.review(session, article_id, "reject", version=1, note="Too vague").status \
            == "rejected"
    assert _conflict(service.review, article_id, "approve", version=1).status_code == 409
    with session_scope() as session:
        edited = service.edit(session, article_id, version=1, content="# One\n\nBetter.",
                              reviewer="Ana", note="clearer")
        assert (edited.status, edited.version, edited.content) == ("draft", 2, "# One\n\nBetter.")
    with session_scope() as session:
        assert service.review(session, article_id, "approve", version=2).status == "approved"


def test_edits_are_versions_and_a_stale_one_is_409(db):
    article_id = _article()
    with session_scope() as session:
        service.edit(session, article_id, version=1, title="One, retitled")
    with session_scope() as session:
        service.edit(session, article_id, version=2, content="# One\n\nThird.")
    err = _conflict(service.edit, article_id, version=2, content="lost update")
    assert err.status_code == 409 and err.field == "version"
    assert "is at version 3, not 2" in err.message
    assert _get(article_id).content == "# One\n\nThird."
    with session_scope() as session:
        rows = service.versions(session, article_id)
        assert [(v.version, v.source, v.title) for v in rows] == [
            (1, "generated", "One"), (2, "edit", "One, retitled"), (3, "edit", "One, retitled")]
        assert service.version(session, article_id, 1).content == DRAFT.content
        assert service.version(session, article_id, 2).content == DRAFT.content
    missing = _conflict(service.version, article_id, 9)
    assert missing.status_code == 404 and "its current version is 3" in missing.message


def test_an_edit_needs_a_version_and_something_to_change(db):
    article_id = _article()
    assert _conflict(service.edit, article_id, version=None, content="x").status_code == 428
    assert _conflict(service.edit, article_id, version=1).status_code == 422
    blank = _conflict(service.edit, article_id, version=1, title="   ")
    assert (blank.status_code, blank.field) == (422, "title")
    long_note = _conflict(service.edit, article_id, version=1, content="x", note="n" * 2001)
    assert (long_note.status_code, long_note.field) == (422, "note")
    who = _conflict(service.review, article_id, "approve", version=1, reviewer="r" * 101)
    assert (who.status_code, who.field) == (422, "reviewer")
    assert _conflict(service.review, 999_999, "approve", version=1).status_code == 404
    assert _get(article_id).version == 1


def test_a_regeneration_is_the_next_version_of_the_same_article(db):
    article_id = _article(ArticleStatus.REJECTED)
    item_id, task_id = _get(article_id).item_id, _get(article_id).task_id
    again = Generated(content="# One\n\n## New\n\nRewritten.", provider="test", model="m2",
                      finish_reason="stop")
    flags = [{"name": "length", "message": "too short"}]
    with session_scope() as session:
        stored = service.store_generation(
            session, item_id=item_id, task_id=task_id, title="ignored", category="guide",
            generated=again, quality=service.Quality(status="needs_review", flags=flags,
                                                     note="shorter please"))
        assert stored == article_id
    article = _get(article_id)
    assert (article.version, article.status, article.model, article.title) == (
        2, "needs_review", "m2", "One")
    assert article.quality_flags == flags
    with session_scope() as session:
        assert session.query(Article).count() == 1
        last = service.version(session, article_id, 2)
        assert (last.source, last.note, last.model) == ("regenerated", "shorter please", "m2")


def test_an_article_from_before_versions_keeps_its_original(db):
    article_id = _article()
    with session_scope() as session:
        session.execute(delete(ArticleVersion))
    with session_scope() as session:
        rows = service.versions(session, article_id)
        assert [(v.version, v.source) for v in rows] == [(1, "generated")]
        service.edit(session, article_id, version=1, content="# One\n\nEdited.")
    with session_scope() as session:
        rows = service.versions(session, article_id)
        assert [(v.version, v.source) for v in rows] == [(1, "generated"), (2, "edit")]
        assert rows[0].content == DRAFT.content


def test_a_lone_surrogate_in_any_editor_text_is_a_422_naming_the_field(api):
    """"\\ud800" parses as JSON but cannot be stored as UTF-8: every field was a 500."""
    article_id = _article()
    lone = "a\ud800"
    for method, url, body, field in (
        # (`reviewer` in a body is ignored since accounts: the reviewer is who is signed in.)
        ("POST", f"/api/articles/{article_id}/reject", {"note": lone, "version": 1}, "note"),
        ("PATCH", f"/api/articles/{article_id}", {"title": lone, "version": 1}, "title"),
        ("PATCH", f"/api/articles/{article_id}", {"content": lone, "version": 1}, "content"),
        ("PATCH", f"/api/articles/{article_id}", {"content": "# B", "note": lone,
                                                  "version": 1}, "note"),
        ("POST", f"/api/articles/{article_id}/regenerate", {"feedback": lone}, "feedback"),
        ("PATCH", "/api/profiles/guide", {"instructions": lone}, "instructions"),
    ):
        answer = api.request(method, url, content=json.dumps(body),  # sent as "\ud800"
                             headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, (url, body, answer.text)
        assert answer.json()["errors"][0]["field"] == field, answer.text
    article = _get(article_id)
    assert (article.version, article.status, article.title) == (1, "draft", "One")
    assert api.get("/api/profiles/guide").json()["version"] == 0
