"""All of the articles domain's SQL, the library's search included.

Full text (migration 0004): a term of 3 or more characters is looked up in the SQLite FTS5
`trigram` index (`articles_fts`, any substring, so Chinese words need no segmenter) or, on
PostgreSQL, by `ILIKE '%term%'` over title and content, which their pg_trgm GIN indexes serve.
A term of 1-2 characters has no trigram: LIKE / ILIKE finds it by scanning.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.articles.enums import ArticleStatus
from app.articles.models import (
    SEARCH_TABLE,
    Article,
    ArticleBand,
    ArticleSignature,
    ArticleVersion,
)
from app.core.models import utcnow
from app.llm.base import Generated

TRIGRAM = 3  # the shortest term the trigram indexes can find
BATCH_ORDER = "item_id"  # a batch's items are inserted in their order: ids follow it
_SORT_KEYS: dict[str, Any] = {
    "created_at": Article.created_at,
    "updated_at": func.coalesce(Article.updated_at, Article.created_at),  # last change
    "title": func.lower(Article.title),
    BATCH_ORDER: Article.item_id,
}
_FTS = table(SEARCH_TABLE, column("rowid", Integer))
# What an export writes (app.articles.export): every column but the review and lane details.
EXPORT_COLUMNS = (
    Article.id, Article.task_id, Article.title, Article.category, Article.language,
    Article.status, Article.version, Article.model, Article.provider, Article.prompt_tokens,
    Article.completion_tokens, Article.total_tokens, Article.cost_usd, Article.created_at,
    Article.updated_at, Article.slug, Article.seo_title, Article.meta_description,
    Article.excerpt, Article.tags, Article.published_at, Article.content,
)


@dataclass(frozen=True)
class ArticleQuery:
    """Which articles, in which order. Every filter given must hold; times are UTC."""

    category: str | None = None
    status: str | None = None
    language: str | None = None  # "zh" also finds "zh-CN", "zh-TW"
    task_id: str | None = None
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    terms: tuple[str, ...] = ()  # each in the title or the content
    sort: str = "created_at"
    order: str = "desc"


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _search(dialect: str, terms: tuple[str, ...]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    indexed = [t for t in terms if len(t) >= TRIGRAM] if dialect == "sqlite" else []
    if indexed:
        match = literal_column(SEARCH_TABLE).op("MATCH")(
            " AND ".join(_fts_phrase(t) for t in indexed))
        conditions.append(Article.id.in_(select(_FTS.c.rowid).where(match)))
    for term in terms:
        if term in indexed:
            continue
        pattern = _like(term)
        if dialect == "postgresql":
            conditions.append(or_(Article.title.ilike(pattern, escape="\\"),
                                  Article.content.ilike(pattern, escape="\\")))
        else:  # SQLite's LIKE already ignores ASCII case
            conditions.append(or_(Article.title.like(pattern, escape="\\"),
                                  Article.content.like(pattern, escape="\\")))
    return conditions


def _where(session: Session, query: ArticleQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.category:
        conditions.append(Article.category == query.category)
    if query.status:
        conditions.append(Article.status == query.status)
    if query.language:
        language = func.lower(Article.language)
        tag = query.language.lower()  # letters, digits and "-" only (app.articles.library)
        conditions.append(or_(language == tag, language.like(f"{tag}-%")))
    if query.task_id:
        conditions.append(Article.task_id == query.task_id)
    if query.since is not None:
        conditions.append(Article.created_at >= query.since)
    if query.until is not None:
        conditions.append(Article.created_at < query.until)
    if query.terms:
        conditions.extend(_search(session.get_bind().dialect.name, query.terms))
    return conditions


def _ordered(statement: Select[*tuple[Any, ...]], query: ArticleQuery
             ) -> Select[*tuple[Any, ...]]:
    key = _SORT_KEYS[query.sort]
    if query.order == "asc":
        return statement.order_by(key.asc(), Article.id.asc())
    return statement.order_by(key.desc(), Article.id.desc())


def count_articles(session: Session, query: ArticleQuery) -> int:
    statement = select(func.count()).select_from(Article).where(*_where(session, query))
    return int(session.scalar(statement) or 0)


def list_articles(
    session: Session, query: ArticleQuery, *, limit: int, offset: int
) -> tuple[list[Article], int]:
    """One page of the articles `query` selects, and how many it selects in all."""
    statement = _ordered(select(Article).where(*_where(session, query)), query)
    rows = session.scalars(statement.limit(limit).offset(offset)).all()
    return list(rows), count_articles(session, query)


def export_rows(
    session: Session, query: ArticleQuery, *, batch_size: int = 50
) -> Iterator[dict[str, Any]]:
    """The selected articles as plain mappings (EXPORT_COLUMNS), read `batch_size` rows at a
    time: a server-side cursor on PostgreSQL, SQLite's own stepping cursor, so an export of
    any size holds one batch of rows, never all of them."""
    statement = _ordered(select(*EXPORT_COLUMNS).where(*_where(session, query)), query)
    # On the session's connection, not through the ORM: its result would buffer a second batch.
    result = session.connection().execute(statement, execution_options={"yield_per": batch_size})
    try:
        for row in result.mappings():
            yield dict(row)
    finally:
        result.close()


def get_article(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def for_item(session: Session, item_id: int) -> Article | None:
    return session.scalars(select(Article).where(Article.item_id == item_id)).one_or_none()


def title_for_item(session: Session, item_id: int) -> str | None:
    """The title of the item's article, or None when it has none yet."""
    return session.scalar(select(Article.title).where(Article.item_id == item_id))


def insert_generated(
    session: Session, *, item_id: int, task_id: str, title: str, category: str,
    generated: Generated, status: str = ArticleStatus.DRAFT, **fields: Any,
) -> int | None:
    """Store an item's article; its id, or None when the item has one already. One statement
    whatever happens: the unique item_id keeps a first article, never a second, when a
    redelivered task completes the item again. `fields`: language, quality_flags,
    profile_id, profile_version, cost_usd (None: the model has no known price), lane."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    return session.scalar(
        insert(Article)
        .values(
            item_id=item_id,
            task_id=task_id,
            title=title,
            category=category,
            content=generated.content,
            provider=generated.provider,
            model=generated.model,
            prompt_tokens=generated.prompt_tokens,
            completion_tokens=generated.completion_tokens,
            total_tokens=generated.total_tokens,
            tokens_estimated=generated.tokens_estimated,
            finish_reason=generated.finish_reason or None,
            status=status,
            version=1,
            created_at=now,
            updated_at=now,
            **fields,
        )
        .on_conflict_do_nothing(index_elements=["item_id"])
        .returning(Article.id)
    )


def add_version(session: Session, article: Article | int, *, version: int, title: str,
                content: str, source: str, author: str | None = None, note: str | None = None,
                model: str | None = None, **seo: Any) -> ArticleVersion:
    """A version row; `seo`: its slug, seo_title, meta_description, excerpt and tags."""
    article_id = article if isinstance(article, int) else article.id
    row = ArticleVersion(article_id=article_id, version=version, title=title, content=content,
                         source=source, author=author, note=note, model=model,
                         created_at=utcnow(), **seo)
    session.add(row)
    session.flush()
    return row


def has_versions(session: Session, article_id: int) -> bool:
    return session.scalar(
        select(ArticleVersion.id).where(ArticleVersion.article_id == article_id).limit(1)
    ) is not None


def versions(session: Session, article_id: int) -> list[ArticleVersion]:
    return list(session.scalars(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version)
    ))


def version(session: Session, article_id: int, number: int) -> ArticleVersion | None:
    return session.scalars(select(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.version == number
    )).one_or_none()


def move(session: Session, article_id: int, *, status_in: Collection[str] | None = None,
         at_version: int | None = None, **values: Any) -> bool:
    """One conditional UPDATE of an article: True when it was in one of `status_in` (and at
    `at_version`) and so changed. Two reviewers or editors racing cannot both win."""
    query = update(Article).where(Article.id == article_id)
    if status_in is not None:
        query = query.where(Article.status.in_(list(status_in)))
    if at_version is not None:
        query = query.where(Article.version == at_version)
    result = session.execute(query.values(**values).execution_options(
        synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


# --- publishing (app/articles/publishing.py) -----------------------------------------------


def due_schedules(session: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(session.scalars(
        select(Article.id).where(Article.status == ArticleStatus.SCHEDULED,
                                 Article.publish_at <= now)
        .order_by(Article.publish_at, Article.id).limit(limit)))


def publish_due(session: Session, article_id: int, now: datetime) -> bool:
    """scheduled and due → published with its current version live, in one conditional
    UPDATE: True when this call did it (two workers racing: exactly one wins)."""
    result = session.execute(
        update(Article)
        .where(Article.id == article_id, Article.status == ArticleStatus.SCHEDULED,
               Article.publish_at <= now)
        .values(status=ArticleStatus.PUBLISHED, published_version=Article.version,
                published_at=func.coalesce(Article.published_at, now), publish_at=None,
                updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]


# --- slugs (unique per language: ix_articles_language_slug) ----------------------------------


def _same_language(language: str | None) -> ColumnElement[bool]:
    return Article.language.is_(None) if language is None else Article.language == language


def slugs_taken(session: Session, language: str | None, base: str, *, exclude_id: int
                ) -> set[str]:
    """The slugs `base` and `base-<n>` other articles of `language` hold."""
    pattern = f"{base}-%"  # a slug holds [a-z0-9-] only: nothing LIKE would read
    rows = session.scalars(select(Article.slug).where(
        _same_language(language), Article.id != exclude_id,
        or_(Article.slug == base, Article.slug.like(pattern))))
    return {slug for slug in rows if slug}


def slug_owner(session: Session, language: str | None, slug: str, *, exclude_id: int
               ) -> int | None:
    return session.scalar(select(Article.id).where(
        _same_language(language), Article.slug == slug, Article.id != exclude_id))


def set_seo(session: Session, article_id: int, version: int, **values: Any) -> None:
    """Write SEO fields on the article and on its version `version` alike."""
    session.execute(update(Article).where(Article.id == article_id).values(**values)
                    .execution_options(synchronize_session=False))
    session.execute(update(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.version == version)
        .values(**{k: v for k, v in values.items() if k != "seo_flags"})
        .execution_options(synchronize_session=False))


# --- near-duplicate signatures (app/articles/duplicates.py) ---------------------------------


_SIGNATURES = cast(Table, ArticleSignature.__table__)
_BANDS = cast(Table, ArticleBand.__table__)


@dataclass(frozen=True)
class SignatureRow:
    article_id: int
    signature: bytes | None  # None: a text without words
    band_keys: Collection[int]


def save_signatures(session: Session, rows: Sequence[SignatureRow], *, scheme: str) -> None:
    """Replace these articles' signatures and band keys. Called after the article's own row
    was written in this transaction: its row lock orders this with a backfill of it."""
    if not rows:
        return
    ids = [row.article_id for row in rows]
    session.execute(delete(ArticleBand).where(ArticleBand.article_id.in_(ids))
                    .execution_options(synchronize_session=False))
    session.execute(delete(ArticleSignature).where(ArticleSignature.article_id.in_(ids))
                    .execution_options(synchronize_session=False))
    session.execute(insert(_SIGNATURES), [
        {"article_id": row.article_id, "scheme": scheme, "signature": row.signature}
        for row in rows])
    _insert_bands(session, rows)


def add_missing_signatures(session: Session, rows: Sequence[SignatureRow], *, scheme: str
                           ) -> set[int]:
    """Store these signatures for the articles still without one of ``scheme`` (the backfill,
    whose texts were read in an earlier transaction): an article signed since, by an edit or a
    regeneration, keeps its own. The ids stored."""
    if not rows:
        return set()
    ids = [row.article_id for row in rows]
    # An edit or a regeneration writes the article's row before its signature: holding the
    # rows orders the two (PostgreSQL; SQLite has one writer at a time anyway).
    session.execute(select(Article.id).where(Article.id.in_(ids)).with_for_update())
    session.execute(delete(ArticleBand).where(
        ArticleBand.article_id.in_(select(ArticleSignature.article_id).where(
            ArticleSignature.article_id.in_(ids), ArticleSignature.scheme != scheme)))
        .execution_options(synchronize_session=False))
    session.execute(delete(ArticleSignature).where(
        ArticleSignature.article_id.in_(ids), ArticleSignature.scheme != scheme)
        .execution_options(synchronize_session=False))
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stored = set(session.scalars(
        insert_(ArticleSignature)
        .values([{"article_id": row.article_id, "scheme": scheme, "signature": row.signature}
                 for row in rows])
        .on_conflict_do_nothing(index_elements=["article_id"])
        .returning(ArticleSignature.article_id)))
    _insert_bands(session, [row for row in rows if row.article_id in stored])
    return stored


def _insert_bands(session: Session, rows: Sequence[SignatureRow]) -> None:
    bands = [(key, row.article_id) for row in rows for key in sorted(set(row.band_keys))]
    if not bands:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement: psycopg's executemany costs ~40 us of client CPU a row, 3 ms an
        # article. The two unnests of a select list run in lockstep.
        keys = [key for key, _ in bands]
        owners = [article_id for _, article_id in bands]
        session.execute(insert(_BANDS).from_select(["band_key", "article_id"], select(
            func.unnest(bindparam("keys", keys, type_=ARRAY(BigInteger))),
            func.unnest(bindparam("owners", owners, type_=ARRAY(Integer))))))
    else:  # sqlite3's executemany is a loop in C
        session.execute(insert(_BANDS), [{"band_key": key, "article_id": article_id}
                                         for key, article_id in bands])


def signature_candidates(session: Session, band_keys: Collection[int], *, scheme: str,
                         exclude_item: int, language: str | None = None, limit: int
                         ) -> list[tuple[int, bytes]]:
    """(article id, signature) of the articles sharing one of ``band_keys`` (the keys carry
    the category), in the same language or none, but the item's own; at most ``limit``, those
    sharing the most bands first. One query on the band key's index."""
    shared = (select(ArticleBand.article_id, func.count().label("shared"))
              .where(ArticleBand.band_key.in_(list(band_keys)))
              .group_by(ArticleBand.article_id).subquery())
    query = (
        select(ArticleSignature.article_id, ArticleSignature.signature)
        .join(shared, shared.c.article_id == ArticleSignature.article_id)
        .join(Article, Article.id == ArticleSignature.article_id)
        .where(ArticleSignature.scheme == scheme, ArticleSignature.signature.is_not(None),
               Article.item_id != exclude_item)
        .order_by(shared.c.shared.desc(), ArticleSignature.article_id.desc())
        .limit(limit)
    )
    if language is not None:
        query = query.where((Article.language == language) | Article.language.is_(None))
    return [(int(row.article_id), bytes(row.signature)) for row in session.execute(query)]


def _unsigned(scheme: str) -> ColumnElement[bool]:
    return or_(ArticleSignature.article_id.is_(None), ArticleSignature.scheme != scheme)


def unsigned_articles(session: Session, *, scheme: str, after_id: int, limit: int
                      ) -> list[tuple[int, str, str]]:
    """(id, category, content) of the next ``limit`` articles after ``after_id`` without a
    signature of ``scheme``, in id order."""
    query = (
        select(Article.id, Article.category, Article.content)
        .outerjoin(ArticleSignature, ArticleSignature.article_id == Article.id)
        .where(Article.id > after_id, _unsigned(scheme))
        .order_by(Article.id).limit(limit)
    )
    return [(int(row.id), str(row.category), str(row.content)) for row in session.execute(query)]


def count_unsigned(session: Session, *, scheme: str) -> int:
    """Articles without a signature of ``scheme`` (reads every article's id: not per check)."""
    return int(session.scalar(
        select(func.count()).select_from(Article)
        .outerjoin(ArticleSignature, ArticleSignature.article_id == Article.id)
        .where(_unsigned(scheme))) or 0)
