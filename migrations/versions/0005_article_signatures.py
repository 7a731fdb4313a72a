"""article signatures: each article's MinHash and LSH band keys, for the near-duplicate check

`article_signatures` holds one MinHash per article (app/articles/signatures.py), written in
the same transaction as the article or its new version; `article_bands` its band keys, looked
up by the key (the primary key's first column). Both go with their article (ON DELETE CASCADE).

The articles already stored are signed by `trustagency signatures backfill` (resumable, in
chunks; README "Near-duplicate signatures"), not here: a migration that reads and hashes every
article would hold the upgrade for minutes on a large library. Until then an unsigned article
is simply not a candidate.

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_table(
        "article_bands",
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article_signatures.article_id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
    )
    op.create_index("ix_article_bands_article", "article_bands", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_article_bands_article", table_name="article_bands")
    op.drop_table("article_bands")
    op.drop_table("article_signatures")
