"""Scaling out: two separate worker processes (two "machines") share one Redis and one batch."""

from __future__ import annotations

from sqlalchemy import select

from app.articles.models import Article
from app.batches.models import GenerationItem
from app.core.db import session_scope
from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior


def test_one_batch_is_split_across_two_workers(api, start_worker, fake_llm, llm_env):
    fake_llm.default = Behavior(latency=0.5, chunks=4)
    alpha = start_worker("alpha", concurrency=2, **llm_env)
    beta = start_worker("beta", concurrency=2, **llm_env)
    assert alpha.hostname != beta.hostname

    batch = submit(api, [f"Scaled title {i}" for i in range(8)])
    status = wait_final(api, batch["task_id"], timeout=90)
    assert status["status"] == "completed" and status["completed"] == 8

    with session_scope() as session:
        items = session.scalars(
            select(GenerationItem).where(GenerationItem.task_id == batch["task_id"])
        ).all()
        ran_on = {item.worker.split("/", 1)[0] for item in items}
        per_item = [len(session.scalars(select(Article).where(Article.item_id == i.id)).all())
                    for i in items]
    # Each machine wrote part of the batch, and each title got exactly one article.
    assert ran_on == {alpha.hostname, beta.hostname}
    assert per_item == [1] * 8
    assert fake_llm.max_in_flight > 2  # more slots than one machine has
