"""seo and publishing: an article's SEO fields (on the article and on each version), its
publish state (a scheduled time, the version that is live) and the unique slug per language

`slug`, `seo_title`, `meta_description`, `excerpt` and `tags` are written with each version
(app/articles/seo.py parses them from the model's answer or derives them); the article holds
its current version's. `seo_flags` lists the fields that were derived ([{name, message}]).
`published_version` is the version the Content API serves (NULL: nothing is live), so an edit
of a published article leaves it live until the edit is published; `publish_at` is a
scheduled publish that the workers' maintenance loop fires (app/worker/loop.py).

The unique index (language, slug) backs the service's choice of a free slug (-2, -3 ...): a
race between two writers ends in an IntegrityError for one of them, which chooses again.
Columns are added and dropped, never altered: SQLite keeps the table (and the FTS triggers of
0004).

Revision ID: 0009
Revises: 0008
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEO_COLUMNS = ("slug", "seo_title", "meta_description", "excerpt", "tags")


def _seo_columns() -> list[sa.Column]:
    return [
        sa.Column("slug", sa.String(length=200), nullable=True),
        sa.Column("seo_title", sa.String(length=200), nullable=True),
        sa.Column("meta_description", sa.String(length=400), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
    ]


def upgrade() -> None:
    for table in ("articles", "article_versions"):
        for column in _seo_columns():
            op.add_column(table, column)
    op.add_column("articles", sa.Column("seo_flags", sa.JSON(), nullable=True))
    op.add_column("articles", sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("articles", sa.Column("published_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.add_column("articles", sa.Column("published_version", sa.Integer(), nullable=True))
    op.create_index("ix_articles_language_slug", "articles", ["language", "slug"], unique=True)
    op.create_index("ix_articles_publish_at", "articles", ["publish_at"])
    op.create_index("ix_articles_published_at", "articles", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_published_at", table_name="articles")
    op.drop_index("ix_articles_publish_at", table_name="articles")
    op.drop_index("ix_articles_language_slug", table_name="articles")
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): batch mode would recreate `articles` and
    # drop the FTS triggers of 0004 with it.
    for name in ("published_version", "published_at", "publish_at", "seo_flags", *SEO_COLUMNS):
        op.drop_column("articles", name)
    for name in SEO_COLUMNS:
        op.drop_column("article_versions", name)
