"""What the API shows of a batch's items is one list of fields (repository.ITEM_FIELDS), read
the same way by /status, the cancel/retry/resume answers and the live stream."""

from __future__ import annotations

from app.batches import repository, service
from app.batches.api.schemas import ItemOut, batch_out
from app.core.db import session_scope


def test_an_item_shows_the_repositorys_fields_and_its_article_id():
    assert set(ItemOut.model_fields) == {*repository.ITEM_FIELDS, "article_id"}


def test_a_batch_with_its_items_as_the_database_has_them(db):
    with session_scope() as session:
        batch = service.create_batch(session, ["One", "Two"], "guide", language="en")
        out = batch_out(batch, items=repository.item_rows(session, batch.id))
    assert out.items is not None
    assert [(i.index, i.title, i.status, i.attempts, i.article_id, i.language)
            for i in out.items] == [(0, "One", "pending", 0, None, "en"),
                                    (1, "Two", "pending", 0, None, "en")]
    assert batch_out(batch).items is None
