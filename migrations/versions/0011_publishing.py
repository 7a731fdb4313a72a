"""publishing: WordPress targets and one publication per article and target

Revision ID: 0011
Revises: 0010
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publish_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("app_password", sa.String(length=200), nullable=False),
        sa.Column("default_status", sa.String(length=16), nullable=False),
        sa.Column("category_map", sa.JSON(), nullable=False),
        sa.Column("unpublish_action", sa.String(length=16), nullable=False),
        sa.Column("auto_publish", sa.String(length=16), nullable=False),
        sa.Column("require_https", sa.Boolean(), nullable=False),
        sa.Column("rest_route_fallback", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_status", sa.String(length=16), nullable=True),
        sa.Column("date_gmt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_id", sa.Integer(), nullable=True),
        sa.Column("remote_url", sa.Text(), nullable=True),
        sa.Column("remote_status", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version_sent", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["publish_targets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "target_id", name="uq_publication"),
    )
    op.create_index("ix_publications_article_id", "publications", ["article_id"])
    op.create_index("ix_publications_target_id", "publications", ["target_id"])
    op.create_index("ix_publications_due", "publications", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_publications_due", table_name="publications")
    op.drop_index("ix_publications_target_id", table_name="publications")
    op.drop_index("ix_publications_article_id", table_name="publications")
    op.drop_table("publications")
    op.drop_table("publish_targets")
