"""editorial: priority/owner/language/mode/budget on batches, review states and versions of
articles, category profiles, per-item quality and cost

One migration for the columns the fair scheduler, costs and budgets, the Batch API lane,
language and quality checks, and the review flow need, so they share one schema.

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ai_generation_tasks") as batch:
        batch.add_column(sa.Column("priority", sa.String(8), nullable=False,
                                   server_default="normal"))
        batch.add_column(sa.Column("owner", sa.String(100), nullable=True))
        batch.add_column(sa.Column("language", sa.String(35), nullable=False,
                                   server_default="auto"))
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False,
                                   server_default="realtime"))
        batch.add_column(sa.Column("max_cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("cost_usd", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cost_unknown", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("prompt_tokens", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("completion_tokens", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("resume_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("regenerated", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("needs_review", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.create_index("ix_ai_generation_tasks_owner", ["owner"])

    with op.batch_alter_table("generation_items") as batch:
        batch.add_column(sa.Column("language", sa.String(35), nullable=True))
        batch.add_column(sa.Column("feedback", sa.Text(), nullable=True))
        batch.add_column(sa.Column("regenerations", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("provider_batch_id", sa.String(64), nullable=True))
        # The backlog the fair dispatcher picks from: waiting items not yet sent to the broker.
        batch.create_index("ix_item_backlog", ["status", "enqueued_at", "task_id"])

    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False,
                                   server_default="draft"))
        batch.add_column(sa.Column("language", sa.String(35), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("quality_flags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("lane", sa.String(16), nullable=False,
                                   server_default="realtime"))
        batch.add_column(sa.Column("tokens_estimated", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("finish_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("profile_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("profile_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewer", sa.String(100), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_articles_status", ["status"])
        batch.create_index("ix_article_category_created", ["category", "created_at"])

    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.Integer(),
                  sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("author", sa.String(100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("article_id", "version", name="uq_article_version"),
    )
    op.create_table(
        "category_profiles",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("category", sa.String(64), nullable=False, unique=True),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("min_words", sa.Integer(), nullable=False),
        sa.Column("max_words", sa.Integer(), nullable=False),
        sa.Column("min_chars", sa.Integer(), nullable=False),
        sa.Column("max_chars", sa.Integer(), nullable=False),
        sa.Column("min_sections", sa.Integer(), nullable=False),
        sa.Column("duplicate_threshold", sa.Float(), nullable=False),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("language", sa.String(35), nullable=True))
        batch.add_column(sa.Column("priority", sa.String(8), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(100), nullable=True))
        batch.add_column(sa.Column("mode", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        for column in ("mode", "owner", "priority", "language"):
            batch.drop_column(column)
    op.drop_table("category_profiles")
    op.drop_table("article_versions")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_article_category_created")
        batch.drop_index("ix_articles_status")
        for column in ("updated_at", "review_note", "reviewed_at", "reviewer",
                       "profile_version", "profile_id", "finish_reason", "tokens_estimated",
                       "lane", "cost_usd", "quality_flags", "version", "language", "status"):
            batch.drop_column(column)
    with op.batch_alter_table("generation_items") as batch:
        batch.drop_index("ix_item_backlog")
        for column in ("provider_batch_id", "cost_usd", "regenerations", "feedback",
                       "language"):
            batch.drop_column(column)
    with op.batch_alter_table("ai_generation_tasks") as batch:
        batch.drop_index("ix_ai_generation_tasks_owner")
        for column in ("needs_review", "regenerated", "resume_at", "paused_reason",
                       "completion_tokens", "prompt_tokens", "cost_unknown", "cost_usd",
                       "max_cost_usd", "mode", "language", "owner", "priority"):
            batch.drop_column(column)
