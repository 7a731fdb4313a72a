"""Libraries of distinct articles, stored and signed in bulk, for the near-duplicate tests.

Each text is random words (or random Chinese characters), so no two share a 3-gram by chance:
a near-duplicate in these libraries is one a test made on purpose.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert

from app.articles import duplicates
from app.articles.models import Article
from app.batches.models import AIGenerationTask, GenerationItem
from app.core.db import session_scope
from app.core.models import utcnow

# A few thousand Han characters from the common block, and made-up English-looking words.
_HAN = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]
_SYLLABLES = ["ba", "ce", "di", "fo", "gu", "ha", "ke", "li", "mo", "nu", "pa", "re", "si",
              "to", "vu", "wa", "xe", "yo", "za"]


def text(rng: random.Random, language: str = "en", size: int = 150) -> str:
    """An article of ``size`` words (English) or characters (Chinese), with a title and two
    sections, unlike any other this module makes."""
    if language.startswith("zh"):
        body = ["".join(rng.choices(_HAN, k=size // 3)) + "。" for _ in range(3)]
    else:
        words = ["".join(rng.choices(_SYLLABLES, k=3)) for _ in range(size)]
        body = [" ".join(words[i:i + size // 3]) + "." for i in range(0, size, size // 3)]
    return f"# {body[0][:12]}\n\n{body[0]}\n\n## One\n\n{body[1]}\n\n## Two\n\n{body[2]}\n"


def near_copy(original: str, language: str = "en") -> str:
    """``original`` with a few words (or characters) changed: about 90 % of its shingles."""
    if language.startswith("zh"):
        cut = len(original) // 2
        return original[:cut] + "变" + original[cut + 1:] + "\n\n补充一句。"
    words = original.split(" ")
    words[len(words) // 2] = "changed"
    return " ".join(words) + "\n\nOne more line."


def store(texts: list[str], *, category: str = "guide", language: str | None = "en",
          sign: bool = True) -> list[int]:
    """Store the texts as the articles of one finished batch, in one transaction and a few
    bulk statements, then sign them as the backfill does; their ids, in order."""
    now = utcnow()
    with session_scope() as session:
        batch = AIGenerationTask(category=category, total=len(texts), status="completed",
                                 completed=len(texts), progress=100, created_at=now,
                                 started_at=now, finished_at=now)
        session.add(batch)
        session.flush()
        items = session.scalars(
            insert(GenerationItem).returning(GenerationItem.id, sort_by_parameter_order=True),
            [{"task_id": batch.id, "index": i, "title": f"Article {i}", "status": "completed",
              "created_at": now, "finished_at": now} for i in range(len(texts))]).all()
        ids = list(session.scalars(
            insert(Article).returning(Article.id, sort_by_parameter_order=True),
            [{"item_id": item, "task_id": batch.id, "title": f"Article {i}",
              "category": category, "content": body, "language": language,
              "provider": "test", "model": "m", "created_at": now + timedelta(microseconds=i)}
             for i, (item, body) in enumerate(zip(items, texts, strict=True))]).all())
        if sign:
            duplicates.backfill_chunk(session, after_id=ids[0] - 1, limit=len(ids))
    return ids


def library(size: int, *, seed: int = 1, language: str = "en", **kwargs: object) -> list[int]:
    """``size`` short articles (the library a check searches, unlike any text a test uses)."""
    rng = random.Random(seed)
    return store([text(rng, language, size=45) for _ in range(size)], language=language,
                 **kwargs)  # type: ignore[arg-type]
