"""One post on one site: the fields WordPress gets for a PostDraft, and the send that finds
our earlier post before it creates one (WordPress has no idempotency key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from app.core.models import utcnow
from app.publishing.draft import PostDraft, marker_for
from app.publishing.enums import PostStatus, UnpublishAction
from app.publishing.errors import RemoteError
from app.publishing.wordpress import Site, WordPress, same_slug

# (plugin, title meta key, description meta key): used when the post schema exposes both.
SEO_META = (("Yoast SEO", "_yoast_wpseo_title", "_yoast_wpseo_metadesc"),
            ("Rank Math", "rank_math_title", "rank_math_description"))
NO_SEO_NOTE = ("SEO title and description not sent: the site's post schema exposes neither "
               "Yoast's (_yoast_wpseo_title, _yoast_wpseo_metadesc) nor Rank Math's meta")
PAST_DATE_NOTE = "the scheduled time had passed when it was sent: published now"


@dataclass(frozen=True)
class Sent:
    remote_id: int
    url: str
    status: str
    note: str | None


def utc(value: datetime | None) -> datetime | None:
    """Aware, in UTC (SQLite hands stored times back naive; they are UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def wp_date(value: datetime) -> str:
    """WordPress's `date_gmt`: ISO 8601 without an offset, in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _schedule(draft: PostDraft) -> tuple[dict[str, Any], str | None]:
    """Status and date: a `future` post whose time passed in the queue is published now
    (WordPress would do that silently; we say so in the publication's note)."""
    if draft.status is PostStatus.FUTURE and draft.date_gmt is not None:
        if draft.date_gmt <= utcnow():
            return {"status": PostStatus.PUBLISH.value}, PAST_DATE_NOTE
        return {"status": draft.status.value, "date_gmt": wp_date(draft.date_gmt)}, None
    fields: dict[str, Any] = {"status": draft.status.value}
    if draft.date_gmt is not None:
        fields["date_gmt"] = wp_date(draft.date_gmt)
    return fields, None


def _seo(wp: WordPress, draft: PostDraft) -> tuple[dict[str, Any], str | None]:
    keys = wp.post_meta_keys()
    for _plugin, title_key, description_key in SEO_META:
        if title_key in keys and description_key in keys:
            return {"meta": {title_key: draft.seo_title,
                             description_key: draft.meta_description}}, None
    return {}, NO_SEO_NOTE


def post_fields(wp: WordPress, draft: PostDraft) -> tuple[dict[str, Any], list[str]]:
    """Every field of the post (terms created on the site as needed), and notes for people."""
    schedule, schedule_note = _schedule(draft)
    seo, seo_note = _seo(wp, draft)
    fields = {"title": draft.title, "content": draft.html, "excerpt": draft.excerpt,
              "slug": draft.slug, **schedule,
              "categories": [wp.term_id("categories", draft.category)],
              "tags": [wp.term_id("tags", tag) for tag in draft.tags], **seo}
    return fields, [note for note in (schedule_note, seo_note) if note]


def send(site: Site, draft: PostDraft, target_key: str, remote_id: int | None) -> Sent:
    """Create or update our one post for this article on this site.

    Known id: updated (gone from the site: looked up, then created). Unknown id (the first
    send, or a worker died between WordPress's answer and our commit): the post carrying our
    marker is looked up across every status and updated; only when there is none is a post
    created."""
    with WordPress(site) as wp:
        wp.me()  # signed in? A bad password is named here, before anything is changed
        fields, notes = post_fields(wp, draft)
        post = None
        if remote_id is not None:
            post = _update_if_there(wp, remote_id, fields)
        if post is None:
            found = wp.find_post(draft.slug, marker_for(draft.article_id, target_key))
            post = (wp.update_post(int(found["id"]), fields) if found
                    else wp.create_post(fields))
    slug = str(post.get("slug") or "")
    if slug and not same_slug(draft.slug, slug):
        notes.append(f"WordPress named the post {unquote(slug)!r}: {draft.slug!r} is taken there")
    return Sent(int(post["id"]), str(post.get("link") or ""), str(post["status"]),
                "; ".join(notes) or None)


def _update_if_there(wp: WordPress, remote_id: int, fields: dict[str, Any]) -> Any:
    try:
        return wp.update_post(remote_id, fields)
    except RemoteError as exc:
        if exc.http_status in (404, 410):  # deleted on the site (emptied from the trash)
            return None
        raise


def withdraw(site: Site, remote_id: int, action: UnpublishAction) -> str:
    """Back to draft or into the trash; the post's new status."""
    with WordPress(site) as wp:
        if action is UnpublishAction.TRASH:
            post = wp.trash_post(remote_id)
        else:
            post = wp.update_post(remote_id, {"status": PostStatus.DRAFT.value})
    return str(post.get("status") or action.value)
