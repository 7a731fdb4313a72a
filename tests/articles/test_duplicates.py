"""Near-duplicates found through stored signatures, on a real database: written with their
article, replaced with its text, gone with it, backfilled, at a cost that does not grow."""

from __future__ import annotations

import logging
import random
import threading

import pytest
from sqlalchemy import delete, event, func, select, update

from app.articles import duplicates, service
from app.articles.models import ArticleBand, ArticleSignature
from app.articles.signatures import tiers
from app.batches import service as batches
from app.batches import state
from app.batches.models import AIGenerationTask
from app.core.db import get_engine, session_scope
from app.llm.base import Generated
from tests.support import duplicates as library

BANDS = sum(tier.bands for tier in tiers())  # band keys each signed article stores


def _nearest(text: str, *, category: str = "guide", language: str | None = "en",
             threshold: float = 0.8, exclude_item: int = 0) -> duplicates.Lookup:
    with session_scope(read_only=True) as session:
        return duplicates.nearest(session, text, category=category, language=language,
                                  exclude_item=exclude_item, threshold=threshold)


def _generated(content: str) -> Generated:
    return Generated(content=content, provider="test", model="m", finish_reason="stop")


def _completed(content: str) -> tuple[int, int]:
    """An article stored as a worker stores it: (article id, item id)."""
    with session_scope() as session:
        batch = batches.create_batch(session, ["Signed"], "guide", language="en")
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        state.complete_item(session, item, "guide", _generated(content),
                            quality=service.Quality(language="en"))
        article_id = session.scalars(select(ArticleSignature.article_id)).one()
        return article_id, item.id


def _signatures() -> dict[int, int]:
    """article id: how many band keys it has."""
    with session_scope(read_only=True) as session:
        signed = session.scalars(select(ArticleSignature.article_id)).all()
        bands = {int(article_id): int(count) for article_id, count in session.execute(
            select(ArticleBand.article_id, func.count()).group_by(ArticleBand.article_id))}
    return {article_id: bands.get(article_id, 0) for article_id in signed}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_near_copy_of_an_article_1000_articles_old_is_found(db, language):
    rng = random.Random(7)
    original = library.text(rng, language)
    [oldest] = library.store([original], language=language)
    library.library(1000, seed=8, language=language)
    found = _nearest(library.near_copy(original, language), language=language)
    assert found.match is not None and found.match.key == oldest
    assert found.match.similarity >= 0.8 and found.candidates == 1
    # The scope is today's: the category, and the same language (or none).
    assert _nearest(library.near_copy(original, language), category="news",
                    language=language).match is None
    assert _nearest(library.near_copy(original, language), language="fr").match is None


def test_a_signature_is_written_with_its_article_and_goes_with_it(db):
    text = library.text(random.Random(1))
    article_id, item_id = _completed(text)
    assert _signatures() == {article_id: BANDS}
    assert _nearest(text).match == (article_id, 1.0)
    assert _nearest(text, exclude_item=item_id).match is None  # its own regeneration
    with session_scope() as session:
        session.execute(delete(AIGenerationTask))  # as retention does: the article goes
    assert _signatures() == {} and _nearest(text).candidates == 0


def test_a_rolled_back_article_leaves_no_signature(db):
    with pytest.raises(RuntimeError), session_scope() as session:
        batch = batches.create_batch(session, ["Signed"], "guide", language="en")
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        state.complete_item(session, item, "guide", _generated(library.text(random.Random(1))))
        assert len(session.scalars(select(ArticleSignature.article_id)).all()) == 1
        raise RuntimeError("the worker died before its commit")
    assert _signatures() == {}


def test_an_edited_article_is_found_by_its_new_text_only(db):
    rng = random.Random(2)
    old, new = library.text(rng), library.text(rng)
    article_id, _ = _completed(old)
    with session_scope() as session:
        service.edit(session, article_id, version=1, title="Only the title")
    assert _nearest(library.near_copy(old)).match is not None  # the text did not change
    with session_scope() as session:
        service.edit(session, article_id, version=2, content=new)
    assert _nearest(library.near_copy(old)).match is None
    found = _nearest(library.near_copy(new)).match
    assert found is not None and found.key == article_id
    assert _signatures() == {article_id: BANDS}  # replaced, not added to


def test_a_regenerated_article_is_found_by_its_new_text_only(db):
    rng = random.Random(3)
    old, new = library.text(rng), library.text(rng)
    article_id, item_id = _completed(old)
    with session_scope() as session:
        service.store_generation(session, item_id=item_id, task_id="unused", title="Signed",
                                 category="guide", generated=_generated(new),
                                 quality=service.Quality(language="en"))
    assert _nearest(library.near_copy(old)).match is None
    found = _nearest(library.near_copy(new)).match
    assert found is not None and found.key == article_id
    assert _signatures() == {article_id: BANDS}


def test_an_unsigned_article_is_not_a_candidate_and_the_log_says_a_backfill_is_pending(
        db, monkeypatch, caplog):
    monkeypatch.setattr(duplicates, "_backfill_noted", threading.Event())
    text = library.text(random.Random(4))
    [article_id] = library.store([text], sign=False)
    with caplog.at_level(logging.WARNING, logger=duplicates.__name__):
        assert _nearest(text).match is None
        _nearest(text)
    assert [r.getMessage() for r in caplog.records] == [
        "1 stored articles have no near-duplicate signature yet, so the duplicate check "
        "cannot find them: run `trustagency signatures backfill`"]
    with session_scope() as session:
        chunk = duplicates.backfill_chunk(session)
    assert (chunk.signed, chunk.last_id) == (1, article_id)
    assert _nearest(text).match == (article_id, 1.0)


def test_the_backfill_signs_each_article_once_and_continues_where_it_stopped(db, monkeypatch):
    ids = library.library(25, sign=False)
    [wordless] = library.store(["```\nonly code\n```"], sign=False)
    saved: list[int] = []
    real = duplicates.repository.add_missing_signatures

    def spy(session, rows, **kwargs):
        stored = real(session, rows, **kwargs)
        saved.extend(sorted(stored))
        return stored

    monkeypatch.setattr(duplicates.repository, "add_missing_signatures", spy)
    with session_scope() as session:
        first = duplicates.backfill_chunk(session, limit=10)
    assert (first.signed, first.last_id) == (10, ids[9])
    with pytest.raises(KeyboardInterrupt), session_scope() as session:  # stopped mid-chunk
        duplicates.backfill_chunk(session, after_id=first.last_id, limit=10)
        raise KeyboardInterrupt
    with session_scope(read_only=True) as session:
        assert duplicates.unsigned(session) == 26 - 10
    saved.clear()
    after = 0
    with session_scope() as session:  # a new run starts from the beginning
        while (chunk := duplicates.backfill_chunk(session, after_id=after, limit=10)).signed:
            after = chunk.last_id
    assert saved == ids[10:] + [wordless]  # each remaining article once, the first ten not
    signed = _signatures()
    assert sorted(signed) == ids + [wordless]
    assert {signed[i] for i in ids} == {BANDS} and signed[wordless] == 0
    with session_scope(read_only=True) as session:
        assert duplicates.unsigned(session) == 0


def _cost(text: str) -> tuple[int, int]:
    """(statements, signatures loaded) of one check."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        found = _nearest(text)
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), \
        found.candidates


def test_the_work_of_a_check_does_not_grow_with_the_library(db):
    rng = random.Random(5)
    probe, original = library.text(rng), library.text(rng)
    library.store([original])
    copy = library.near_copy(original)
    library.library(99, seed=6)
    _nearest(probe)  # the first check of a process also counts the unsigned articles
    small = _cost(probe), _cost(copy)
    library.library(1900, seed=9)
    large = _cost(probe), _cost(copy)
    # One query; no signature loaded for a unique article, one for a near copy of one.
    assert small == large == ((1, 0), (1, 1))


def _reworded(text: str, every: int) -> str:
    words = text.split(" ")
    return " ".join("other" if i % every == every // 2 else word for i, word in enumerate(words))


def test_a_lower_threshold_of_a_profile_finds_a_looser_copy(db):
    """The bands of every tier are stored: a profile at 0.5 finds a copy that shares 60 %."""
    original = library.text(random.Random(10))
    [article_id] = library.store([original])
    library.library(300, seed=11)
    loose = _reworded(original, 12)
    found = _nearest(loose, threshold=0.5).match
    assert found is not None and found.key == article_id and 0.5 <= found.similarity < 0.8
    at_default = _nearest(loose).match
    assert at_default is None or at_default.similarity < 0.8


def test_past_the_cap_the_articles_sharing_the_most_bands_are_compared(db, monkeypatch):
    monkeypatch.setattr(duplicates, "MAX_CANDIDATES", 2)
    original = library.text(random.Random(12))
    ids = library.store([library.near_copy(original)]  # the oldest: not first by id
                        + [_reworded(original, every) for every in (10, 11, 12, 13)])
    found = _nearest(original, threshold=0.5)
    assert found.candidates == 2
    assert found.match is not None and found.match.key == ids[0]


def test_an_article_edited_while_the_backfill_hashes_it_keeps_its_new_signature(db):
    rng = random.Random(13)
    old, new = library.text(rng), library.text(rng)
    [article_id] = library.store([old], sign=False)
    with session_scope(read_only=True) as session:
        chunk = duplicates.unsigned_chunk(session)  # read: the old text
    with session_scope() as session:
        service.edit(session, article_id, version=1, content=new)
    with session_scope() as session:
        assert duplicates.store_chunk(session, chunk) == 0
    assert _nearest(library.near_copy(old)).match is None
    assert _nearest(new).match == (article_id, 1.0)
    assert _signatures() == {article_id: BANDS}


def test_articles_signed_under_another_scheme_are_signed_again(db):
    text = library.text(random.Random(14))
    [article_id] = library.store([text])
    with session_scope() as session:
        session.execute(update(ArticleSignature).values(scheme="v0 older bands"))
    assert _nearest(text).candidates == 0  # not comparable: not a candidate
    with session_scope() as session:
        assert duplicates.unsigned(session) == 1
        duplicates.backfill_chunk(session)
    assert _nearest(text).match == (article_id, 1.0)
    assert _signatures() == {article_id: BANDS}
