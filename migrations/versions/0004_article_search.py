"""article search: full text over title and content that works for Chinese

SQLite: an FTS5 index with the `trigram` tokenizer (any substring of 3+ characters, so CJK
words match without a word segmenter), over the articles table as external content and kept
in sync by three triggers. PostgreSQL: pg_trgm GIN indexes on title and content, which serve
`ILIKE '%term%'`. Terms of 1-2 characters are found by LIKE / ILIKE without an index
(app/articles/repository.py).

A later migration that makes Alembic *recreate* the articles table on SQLite (batch mode for a
drop or alter of a column) drops these triggers with the old table: it must create them again
(TRIGGERS below) and rebuild the index. tests/articles/test_library.py fails if they are gone.

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "articles_fts"  # app.articles.models.SEARCH_TABLE
TRGM_INDEXES = {"ix_articles_title_trgm": "title", "ix_articles_content_trgm": "content"}

TRIGGERS = {
    "articles_fts_insert": f"""
        CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
            INSERT INTO {FTS}(rowid, title, content) VALUES (new.id, new.title, new.content);
        END""",
    "articles_fts_delete": f"""
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, content)
                VALUES ('delete', old.id, old.title, old.content);
        END""",
    "articles_fts_update": f"""
        CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, content ON articles BEGIN
            INSERT INTO {FTS}({FTS}, rowid, title, content)
                VALUES ('delete', old.id, old.title, old.content);
            INSERT INTO {FTS}(rowid, title, content) VALUES (new.id, new.title, new.content);
        END""",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(title, content, content='articles', "
                   "content_rowid='id', tokenize='trigram')")
        for sql in TRIGGERS.values():
            op.execute(sql)
        op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")  # the articles already there
    elif dialect == "postgresql":
        # A trusted extension since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRGM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON articles USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    elif dialect == "postgresql":
        for name in TRGM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
