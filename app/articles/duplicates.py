"""Near-duplicates against the whole library, at a cost that does not grow with it.

    duplicates.sign(session, article_id, "guide", content)     # with the article, same commit
    found = duplicates.nearest(session, text, category="guide", language="en",
                               exclude_item=item.id, threshold=0.8)
    found.match       # Match(key=article id, similarity) of the most similar candidate, or None
    found.candidates  # how many stored signatures it compared (a handful, whatever the size)

Every article's MinHash and LSH band keys (app/articles/signatures.py) are stored when it is
stored, edited or regenerated, in the same transaction, and go with it. A check computes the
new text's MinHash once, finds the articles sharing one of its band keys in one indexed query
(the keys carry the category; the language filter is today's: the same, or none), loads those
signatures alone and estimates the Jaccard similarity with each.

Why our own tables and not datasketch's storage layer (MinHashLSH on Redis or Cassandra): a
signature here commits or rolls back with its article, so the library and its index never
disagree; it works on SQLite and PostgreSQL alike; it needs no other service to run, back up or
rebuild; and a lookup stays one query against an index the database keeps.

Articles stored before signatures existed (migration 0005) are signed by ``unsigned_chunk``
and ``store_chunk``, run by ``trustagency signatures backfill``; until then they are not
candidates, and the first check of each process says so in the log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.articles import repository, signatures
from app.articles.signatures import Match

log = logging.getLogger(__name__)

# The most signatures one check loads (512 bytes each). The default threshold's bands find a
# handful at most; a profile threshold below 0.8 looks up bands that also find articles on the
# same topic (templated text shares 15-25 % of its shingles), a share of the category that
# grows with it: past this many, those sharing the most bands are compared.
MAX_CANDIDATES = 500

_backfill_noted = threading.Event()


@dataclass(frozen=True)
class Lookup:
    match: Match | None  # the most similar candidate (compare its similarity with the threshold)
    candidates: int  # stored signatures loaded and compared


@dataclass(frozen=True)
class Chunk:
    rows: list[repository.SignatureRow]  # empty: none was left
    last_id: int  # where the next chunk starts

    @property
    def signed(self) -> int:
        return len(self.rows)


def _row(article_id: int, category: str, content: str) -> repository.SignatureRow:
    values = signatures.sketch(content)
    if values is None:
        return repository.SignatureRow(article_id, None, ())
    return repository.SignatureRow(article_id, signatures.encode(values),
                                   signatures.band_keys(category, values))


def sign(session: Session, article_id: int, category: str, content: str) -> None:
    """Store (or replace) the signature of an article's current text. Call it after the
    article's row is written, in the same transaction."""
    repository.save_signatures(session, [_row(article_id, category, content)],
                               scheme=signatures.scheme())


def nearest(session: Session, text: str, *, category: str, language: str | None,
            exclude_item: int, threshold: float) -> Lookup:
    """The stored article of ``category`` (in ``language`` or none) most like ``text`` among
    those its bands find, the item's own article left out."""
    _note_backfill(session)
    values = signatures.sketch(text)
    if values is None:
        return Lookup(None, 0)
    keys = signatures.band_keys(category, values, [signatures.tier_for(threshold)])
    rows = repository.signature_candidates(session, keys, scheme=signatures.scheme(),
                                           exclude_item=exclude_item, language=language,
                                           limit=MAX_CANDIDATES)
    if not rows:
        return Lookup(None, 0)
    scores = signatures.similarities(values, [signature for _, signature in rows])
    best = int(scores.argmax())
    return Lookup(Match(rows[best][0], float(scores[best])), len(rows))


def unsigned_chunk(session: Session, *, after_id: int = 0, limit: int = 500) -> Chunk:
    """The signatures of the next ``limit`` articles after ``after_id`` without one (or with
    one of an older scheme), in id order: read and computed, not stored. Read-only, so on
    SQLite the seconds its MinHashes take hold no lock a worker waits for."""
    found = repository.unsigned_articles(session, scheme=signatures.scheme(),
                                         after_id=after_id, limit=limit)
    return Chunk([_row(*row) for row in found], found[-1][0] if found else after_id)


def store_chunk(session: Session, chunk: Chunk) -> int:
    """Store a chunk's signatures, but for the articles signed since it was read (edited or
    regenerated meanwhile: theirs are newer); how many were stored. Commit after each chunk:
    a backfill stopped anywhere continues where it stopped, and signs each article once."""
    return len(repository.add_missing_signatures(session, chunk.rows,
                                                 scheme=signatures.scheme()))


def backfill_chunk(session: Session, *, after_id: int = 0, limit: int = 500) -> Chunk:
    """`unsigned_chunk` and `store_chunk` in one transaction (a small library, the tests)."""
    chunk = unsigned_chunk(session, after_id=after_id, limit=limit)
    store_chunk(session, chunk)
    return chunk


def unsigned(session: Session) -> int:
    """Articles a backfill would sign (reads every article's id)."""
    return repository.count_unsigned(session, scheme=signatures.scheme())


def _note_backfill(session: Session) -> None:
    """Once a process: say so when some articles cannot be found as duplicates yet."""
    if _backfill_noted.is_set():
        return
    _backfill_noted.set()
    pending = unsigned(session)
    if pending:
        log.warning("%s stored articles have no near-duplicate signature yet, so the duplicate "
                    "check cannot find them: run `trustagency signatures backfill`", pending)
