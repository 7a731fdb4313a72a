"""An article after it is written: review states, edits kept as versions, and the storing of
each generation (the first as version 1, a regeneration as a new version of the same article).

Review and publish transitions (docs/architecture.md draws the whole machine):

    draft | needs_review ──approve──▶ approved ──publish──▶ published
                                         │  ▲                  ▲
                                schedule ▼  │ unpublish        │ publish (now), or the
                                      scheduled ───────────────┘ workers at its publish_at
    draft | needs_review ──reject───▶ rejected
    any edit (approved, scheduled, published, rejected) ──▶ draft: reviewed again

Approve, reject, publish and schedule carry the version the reviewer saw: another edit since
makes them stale (409 naming the current version); none given is a 428. Publishing copies the
version into `published_version`, which the Content API serves: an edit of a published article
leaves that version live until the edit is approved and published (app/articles/publishing.py
has unpublish and the scheduled publishes).

Each transition and each edit is one conditional UPDATE, so two reviewers racing cannot both
win; a refused one is a 409 naming the current state. A new text (stored, edited, regenerated)
gets its near-duplicate signature and its SEO fields (app/articles/seo.py, a slug unique per
language: app/articles/slugs.py) in the same transaction (app/articles/duplicates.py).
Nothing here commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from app.articles import duplicates, events, repository, seo, slugs
from app.articles.enums import ArticleStatus, VersionSource
from app.articles.errors import ArticleError
from app.articles.models import Article, ArticleVersion
from app.config import get_settings
from app.core import names, outbox
from app.core.errors import DomainError
from app.core.models import utcnow
from app.core.text import NOT_UNICODE, has_surrogate
from app.llm.base import Generated

log = logging.getLogger(__name__)

MAX_NOTE = 2000
MAX_REVIEWER = 100
MAX_CONTENT = 500_000

_REVIEWABLE = frozenset({ArticleStatus.DRAFT, ArticleStatus.NEEDS_REVIEW})
_PUBLISHABLE = frozenset({ArticleStatus.APPROVED, ArticleStatus.SCHEDULED})
# action: (the states it starts from, the state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (_REVIEWABLE, ArticleStatus.APPROVED),
    "reject": (_REVIEWABLE, ArticleStatus.REJECTED),
    "publish": (_PUBLISHABLE, ArticleStatus.PUBLISHED),
    "schedule": (_PUBLISHABLE, ArticleStatus.SCHEDULED),
}
# An edit sends these back to review (a rejected one too: it is a new draft).
_BACK_TO_DRAFT = frozenset({ArticleStatus.REJECTED, ArticleStatus.APPROVED,
                            ArticleStatus.SCHEDULED, ArticleStatus.PUBLISHED})


def _text(value: object, field: str, limit: int, *, single_line: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArticleError.invalid(field, "must be a string")
    text = " ".join(value.split()) if single_line else value.strip()
    if len(text) > limit:
        raise ArticleError.invalid(field, f"at most {limit} characters, got {len(text)}")
    if any(ord(c) < 32 and c not in "\n\t\r" for c in text):
        raise ArticleError.invalid(field, "must not contain control characters")
    if has_surrogate(text):
        raise ArticleError.invalid(field, NOT_UNICODE)
    return text or None


def clean_note(note: object, field: str = "note") -> str | None:
    return _text(note, field, MAX_NOTE, single_line=False)


def clean_reviewer(reviewer: object) -> str | None:
    return _text(reviewer, "reviewer", MAX_REVIEWER, single_line=True)


def get_or_404(session: Session, article_id: int) -> Article:
    article = repository.get_article(session, article_id)
    if article is None:
        raise ArticleError.not_found("article_id", f"no article {article_id}")
    return article


def reloaded(session: Session, article_id: int) -> Article:
    article = session.get(Article, article_id, populate_existing=True)
    assert article is not None
    return article


def need_version(version: int | None) -> int:
    """The version a change was made from, or a 428 saying how to send it."""
    if version is None:
        raise ArticleError("version", "send the version you read (the `version` field, or "
                           'If-Match: "<version>" with the ETag of GET)', status_code=428)
    return version


def review(session: Session, article_id: int, action: str, *, version: int | None,
           note: object = None, reviewer: object = None,
           publish_at: datetime | None = None) -> Article:
    """approve, reject, publish or schedule (at `publish_at`) the `version` the reviewer read,
    recording who (free text), when and why."""
    allowed, target = TRANSITIONS[action]
    seen = need_version(version)
    note, who = clean_note(note), clean_reviewer(reviewer)
    article = get_or_404(session, article_id)
    before = article.status
    now = utcnow()
    values: dict[str, Any] = {"status": target, "reviewer": who, "reviewed_at": now,
                              "review_note": note, "updated_at": now}
    if action in ("publish", "schedule"):
        _ensure_original(session, article)
        if not article.slug:  # an article from before SEO fields gets them now
            store_seo(session, article, {}, article.content, replacing=False)
        values["publish_at"] = publish_at if action == "schedule" else None
    if action == "publish":
        values.update(published_version=seen,
                      published_at=func.coalesce(Article.published_at, now))
    if not repository.move(session, article_id, status_in=allowed, at_version=seen, **values):
        current = reloaded(session, article_id)
        if current.version != seen:
            raise _stale(article_id, current.version, seen)
        starts = " or ".join(sorted(allowed))
        raise ArticleError.conflict("status", f"article {article_id} is {current.status}: "
                                    f"only {starts} articles can be {target}")
    article = reloaded(session, article_id)
    events.reached(session, article)  # approved, published: their subscribers hear of it
    if before == ArticleStatus.NEEDS_REVIEW:  # the batch's needs_review count moves
        outbox.enqueue(session, names.UPDATE_STATUS_TASK, [article.task_id],
                       ignore_result=True)
    log.info("article %s %s by %s", article_id, target, who or "someone")
    return article


def clean_title(title: object) -> str:
    text = _text(title, "title", get_settings().max_title_length, single_line=True)
    if not text:
        raise ArticleError.invalid("title", "must not be blank")
    return text


def clean_content(content: object) -> str:
    text = _text(content, "content", MAX_CONTENT, single_line=False)
    if not text:
        raise ArticleError.invalid("content", "must not be blank")
    return text


def _ensure_original(session: Session, article: Article) -> None:
    """An article stored before versions existed gets its text as version 1 first."""
    if not repository.has_versions(session, article.id):
        repository.add_version(session, article, version=1, title=article.title,
                               content=article.content, source=VersionSource.GENERATED,
                               model=article.model)


SEO_FIELDS = ("slug", "seo_title", "meta_description", "excerpt", "tags")
_SEO_LIMITS = {"seo_title": seo.MAX_SEO_TITLE, "meta_description": seo.MAX_META}


def clean_seo(given: dict[str, object]) -> dict[str, Any]:
    """An editor's SEO fields, checked; each refusal names its field (422)."""
    cleaned: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name == "slug":
            cleaned[name] = seo.check_slug(value)
            why = (f"lower-case ASCII letters and digits joined by single '-', at most "
                   f"{seo.MAX_SLUG} characters")
        elif name == "tags":
            cleaned[name] = seo.check_tags(value)
            why = f"at most {seo.MAX_TAGS} one-line tags of 1-{seo.MAX_TAG} characters"
        elif name == "excerpt":
            cleaned[name] = _text(value, name, seo.MAX_EXCERPT, single_line=False)
            why = "must not be blank"
        else:
            cleaned[name] = _text(value, name, _SEO_LIMITS[name], single_line=True)
            why = "must not be blank"
        if cleaned[name] is None:
            raise ArticleError.invalid(name, why)
    return cleaned


def store_seo(session: Session, article: Article, edits: dict[str, Any], content: str, *,
              replacing: bool) -> None:
    """The article's current version gets its SEO fields: `edits` (an editor's, or a model's
    answer when `replacing`) over the article's own, the missing ones derived and flagged.
    A slug the article has, or an editor gave, is kept exactly (taken: 409); a new one is made
    free within the language."""
    merged = {**{name: getattr(article, name) for name in SEO_FIELDS}, **edits}
    if replacing:  # a generation's own answer; a URL the article already has stays
        merged = {**edits, "slug": article.slug or edits.get("slug")}
    fields, derived = seo.fields(merged, title=article.title, content=content,
                                 language=article.language, category=article.category)
    names = {flag["name"] for flag in derived}
    kept = [flag for flag in article.seo_flags or []
            if flag["name"] not in names and flag["name"].removeprefix("seo.") not in edits
            and not replacing]
    flags = kept + derived
    if article.slug or ("slug" in edits and not replacing):
        slugs.store_exact(session, article.id, article.version, article.language,
                          fields.as_dict(), flags)
    else:
        slugs.store(session, article.id, article.version, article.language, fields, flags)


def edit(session: Session, article_id: int, *, version: int | None, title: object = None,
         content: object = None, reviewer: object = None, note: object = None,
         seo_fields: dict[str, object] | None = None) -> Article:
    """A new version with the new title, content and/or SEO fields (`seo_fields`: any of
    slug, seo_title, meta_description, excerpt, tags). `version` is the one the editor started
    from: another edit since then makes this one stale (409). An approved, scheduled or
    published article goes back to review (draft); a published one stays live meanwhile."""
    article = get_or_404(session, article_id)
    version = need_version(version)
    edits = clean_seo(seo_fields or {})
    if title is None and content is None and not edits:
        raise ArticleError.invalid("body", "send a new title, content and/or SEO fields")
    new_title = clean_title(title) if title is not None else article.title
    new_content = clean_content(content) if content is not None else article.content
    who, why = clean_reviewer(reviewer), clean_note(note)
    if version != article.version:
        raise _stale(article_id, article.version, version)
    new_text = new_content != article.content
    _ensure_original(session, article)
    values: dict[str, Any] = {"title": new_title, "content": new_content,
                              "version": version + 1, "updated_at": utcnow()}
    if article.status in _BACK_TO_DRAFT:
        values.update(status=ArticleStatus.DRAFT, publish_at=None)  # to be reviewed again
    if not repository.move(session, article_id, at_version=version, **values):
        raise _stale(article_id, reloaded(session, article_id).version, version)
    repository.add_version(session, article_id, version=version + 1, title=new_title,
                           content=new_content, source=VersionSource.EDIT, author=who,
                           note=why)
    store_seo(session, reloaded(session, article_id), edits, new_content, replacing=False)
    if new_text:
        duplicates.sign(session, article_id, article.category, new_content)
    log.info("article %s edited: version %s", article_id, version + 1)
    return reloaded(session, article_id)


def _stale(article_id: int, current: int, given: int) -> DomainError:
    return ArticleError.conflict("version", f"article {article_id} is at version {current}, "
                                 f"not {given}: someone changed it meanwhile; reload it and "
                                 "try again on what it says now")


def versions(session: Session, article_id: int) -> list[ArticleVersion]:
    """Its versions, oldest first (an article from before versions: its text as version 1)."""
    article = get_or_404(session, article_id)
    return repository.versions(session, article_id) or [_original(article)]


def version(session: Session, article_id: int, number: int) -> ArticleVersion:
    article = get_or_404(session, article_id)
    found = repository.version(session, article_id, number)
    if found is None and number == 1 and not repository.has_versions(session, article_id):
        return _original(article)
    if found is None:
        raise ArticleError.not_found("version", f"article {article_id} has no version "
                                     f"{number} (its current version is {article.version})")
    return found


def _original(article: Article) -> ArticleVersion:
    """Not stored: what version 1 of an article from before versions was."""
    return ArticleVersion(article_id=article.id, version=1, title=article.title,
                          content=article.content, source=VersionSource.GENERATED,
                          model=article.model, created_at=article.created_at)


@dataclass(frozen=True)
class Quality:
    """How a generation is stored: its review state, failed checks and what wrote it."""

    status: str = ArticleStatus.DRAFT
    flags: list[dict[str, str]] | None = None
    language: str | None = None
    profile_id: int | None = None
    profile_version: int | None = None
    note: str | None = None  # an editor's feedback, for a regenerated version


def store_generation(session: Session, *, item_id: int, task_id: str, title: str,
                     category: str, generated: Generated, quality: Quality,
                     cost_usd: float | None = None, lane: str = "realtime") -> int | None:
    """Store an item's generated article as version 1, or, when the item has an article
    already (an editor asked to regenerate it), as that article's next version. `cost_usd`
    is this generation's cost (None: no known price); `lane` realtime or batch. The answer's
    front-matter block becomes the SEO fields (app/articles/seo.py), never part of the text."""
    given, body = seo.split(generated.content)
    generated = replace(generated, content=body)
    fields = {"language": quality.language, "quality_flags": quality.flags or [],
              "profile_id": quality.profile_id, "profile_version": quality.profile_version,
              "cost_usd": cost_usd, "lane": lane}
    existing = repository.for_item(session, item_id)
    if existing is None:
        article_id = repository.insert_generated(
            session, item_id=item_id, task_id=task_id, title=title, category=category,
            generated=generated, status=quality.status, **fields)
        if article_id is not None:
            repository.add_version(session, article_id, version=1, title=title,
                                   content=generated.content, source=VersionSource.GENERATED,
                                   model=generated.model)
            duplicates.sign(session, article_id, category, generated.content)
            store_seo(session, reloaded(session, article_id), given, body, replacing=True)
            _needs_review(session, article_id, quality)
        return article_id
    _ensure_original(session, existing)
    existing.version += 1
    for name, value in {**fields, "content": generated.content, "status": quality.status,
                        "provider": generated.provider, "model": generated.model,
                        "prompt_tokens": generated.prompt_tokens,
                        "completion_tokens": generated.completion_tokens,
                        "total_tokens": generated.total_tokens,
                        "tokens_estimated": generated.tokens_estimated,
                        "finish_reason": generated.finish_reason or None,
                        "publish_at": None, "updated_at": utcnow()}.items():
        setattr(existing, name, value)
    repository.add_version(session, existing, version=existing.version, title=existing.title,
                           content=generated.content, source=VersionSource.REGENERATED,
                           note=quality.note, model=generated.model)  # flushes the row first
    duplicates.sign(session, existing.id, existing.category, generated.content)
    store_seo(session, existing, given, body, replacing=True)
    _needs_review(session, existing.id, quality)
    return existing.id


def _needs_review(session: Session, article_id: int, quality: Quality) -> None:
    """A stored generation kept for review: tell article.needs_review's subscribers."""
    if quality.status == ArticleStatus.NEEDS_REVIEW:
        article = session.get(Article, article_id)
        if article is not None:
            events.reached(session, article)
