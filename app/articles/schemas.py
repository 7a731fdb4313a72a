"""Response models of the article API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from app.core.schemas import OutModel


class ArticleOut(OutModel):
    id: int
    task_id: str
    item_id: int
    title: str
    category: str
    content: str
    provider: str
    model: str
    tokens: dict[str, int]
    # USD at the price of the lane it was written in; null when the model has no known price.
    cost_usd: float | None = None
    lane: str = "realtime"  # realtime, or batch (the provider's Batch API)
    # True when the server reported no usage and `tokens` are estimates (app/llm/tokens.py).
    tokens_estimated: bool = False
    created_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    total: int
    limit: int
    offset: int


def article_out(article: Any) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        task_id=article.task_id,
        item_id=article.item_id,
        title=article.title,
        category=article.category,
        content=article.content,
        provider=article.provider,
        model=article.model,
        created_at=article.created_at,
        cost_usd=article.cost_usd,
        lane=article.lane or "realtime",
        tokens_estimated=bool(article.tokens_estimated),
        tokens={
            "prompt": article.prompt_tokens,
            "completion": article.completion_tokens,
            "total": article.total_tokens,
        },
    )
