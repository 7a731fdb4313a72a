"""Articles written straight into the test's database: one finished batch per call, with an
item per article, so library, search, export and retention tests need no worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from app.articles import service
from app.articles.models import Article
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.core.models import utcnow

ZH_ARTICLE = {
    "title": "如何选择一家靠谱的加密货币交易所",
    "content": "# 如何选择一家靠谱的加密货币交易所\n\n## 概述\n\n比特币钱包的安全最重要。"
               "选择交易所时要看牌照、手续费和冷钱包。\n\n"
               "| 项目 | 说明 |\n|---|---|\n| 费率 | 低 |\n",
    "language": "zh-CN",
}
EN_ARTICLE = {
    "title": "Index funds explained",
    "content": "# Index funds explained\n\n## Overview\n\nAn index fund follows a market index "
               "with low fees. 100% of the fund_is diversified.\n",
    "language": "en",
}


def add_batch(articles: list[dict[str, Any]], *, category: str = "guide",
              created_at: datetime | None = None, finished_at: datetime | None = None,
              status: str = "completed") -> tuple[str, list[int]]:
    """A finished batch holding these articles (dicts of Article columns; `title` and
    `content` at least). Returns the batch id and the article ids, in order."""
    now = created_at or utcnow()
    with session_scope() as session:
        batch = AIGenerationTask(category=category, total=len(articles), status=status,
                                 completed=len(articles), progress=100, created_at=now,
                                 started_at=now, finished_at=finished_at or now)
        batch.items = [GenerationItem(index=i, title=a["title"], status="completed",
                                      created_at=now, finished_at=now)
                       for i, a in enumerate(articles)]
        session.add(batch)
        session.flush()
        rows = []
        for i, (item, spec) in enumerate(zip(batch.items, articles, strict=True)):
            values = {"category": category, "provider": "offline-placeholder",
                      "model": "offline", "prompt_tokens": 10, "completion_tokens": 90,
                      "total_tokens": 100, "created_at": now + timedelta(microseconds=i),
                      **spec}
            rows.append(Article(item_id=item.id, task_id=batch.id, **values))
        session.add_all(rows)
        session.flush()
        return batch.id, [row.id for row in rows]


def set_article(article_id: int, **values: Any) -> None:
    with session_scope() as session:
        session.execute(update(Article).where(Article.id == article_id).values(**values))


def publish(article_id: int, **review: Any) -> None:
    """Approve and publish the article's current version through the service (SEO fields are
    derived then for an article stored without them)."""
    with session_scope() as session:
        article = service.get_or_404(session, article_id)
        version, status = article.version, article.status
        if status != "approved":
            service.review(session, article_id, "approve", version=version, **review)
        service.review(session, article_id, "publish", version=version, **review)
