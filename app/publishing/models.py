"""WordPress sites we publish to (targets), and one publication per article and target."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import Base, new_id, utcnow
from app.publishing.enums import AutoPublish, PostStatus, PublicationState, UnpublishAction


class PublishTarget(Base):
    """A WordPress site, the user we act as and what we do there."""

    __tablename__ = "publish_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # In the marker of every post we create (app.publishing.draft.marker_for): random, so two
    # installations (or a database rebuilt) publishing to one site never take each other's
    # posts for their own, as ids alone would.
    key: Mapped[str] = mapped_column(String(32), default=new_id)
    base_url: Mapped[str] = mapped_column(String(500))
    username: Mapped[str] = mapped_column(String(60))
    # WordPress needs it in clear on every request (Basic auth), so it is stored as given; the
    # API never returns it and every error message that could carry it is masked
    # (app.publishing.wordpress.mask).
    app_password: Mapped[str] = mapped_column(String(200))
    default_status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT)
    category_map: Mapped[dict] = mapped_column(JSON, default=dict)  # ours -> WP name or slug
    unpublish_action: Mapped[str] = mapped_column(String(16), default=UnpublishAction.DRAFT)
    auto_publish: Mapped[str] = mapped_column(String(16), default=AutoPublish.MANUAL)
    require_https: Mapped[bool] = mapped_column(Boolean, default=True)
    # Plain permalinks: the site answers /?rest_route=/wp/v2/... only (found by the test).
    rest_route_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class Publication(Base):
    """One article on one target: at most one remote post, whose id is kept once known."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("article_id", "target_id", name="uq_publication"),
                      Index("ix_publications_due", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("publish_targets.id", ondelete="CASCADE"),
                                           index=True)
    state: Mapped[str] = mapped_column(String(16), default=PublicationState.QUEUED)
    # What was asked: the post status (None: the target's default) and a scheduled date.
    requested_status: Mapped[str | None] = mapped_column(String(16))
    date_gmt: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remote_id: Mapped[int | None] = mapped_column(Integer)
    remote_url: Mapped[str | None] = mapped_column(Text)
    remote_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. SEO fields skipped, and why
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # While queued: when the next send is due (now, or after a back-off). A queued publication
    # long past it lost its message (or its worker): app.publishing.delivery.requeue_lost.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version_sent: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    target: Mapped[PublishTarget] = relationship(lazy="joined")
