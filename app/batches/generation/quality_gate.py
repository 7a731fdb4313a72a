"""What one attempt asks for, and whether its answer is good enough to keep.

`prepare` builds the request from the item (its resolved language, the editor's or the checks'
feedback) and its category's profile (instructions, length bounds in the language's unit,
model and temperature overrides). `judge` runs the quality checks (app/articles/quality.py)
with the profile's thresholds, the QUALITY_CHECKS that are on, and the whole library of the
category (in the article's language) as the near-duplicate corpus, searched through its stored
signatures (app/articles/duplicates.py) at a cost that does not grow with it. An article that
fails goes back for another attempt with the reasons in its prompt, up to
QUALITY_MAX_REGENERATIONS; after that, and for an answer cut at the token limit, it is kept as
needs_review with its flags instead of being thrown away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.articles import duplicates, seo, signatures
from app.articles import repository as articles
from app.articles.enums import ArticleStatus
from app.articles.quality import QualityReport, run_checks
from app.articles.service import Quality
from app.batches.models import AIGenerationTask, GenerationItem
from app.config import get_settings
from app.core.db import session_scope
from app.llm import language
from app.llm.base import ArticleRequest, Generated
from app.llm.language import AUTO, DEFAULT_LANGUAGE
from app.profiles import service as profiles

log = logging.getLogger(__name__)

# How QualityReport.feedback_for_prompt starts: what follows it was the checks', not an editor's.
CHECKS_SAID = "The previous draft was rejected by the site's quality checks:"


@dataclass(frozen=True)
class Job:
    request: ArticleRequest
    profile: profiles.Profile
    note: str | None  # the editor's feedback, kept with a regenerated version


@dataclass(frozen=True)
class Verdict:
    quality: Quality | None  # how to store the article; None: write it again
    reason: str = ""  # why it is written again (the item's error meanwhile)
    feedback: str = ""  # what the next attempt's prompt says
    # How to store it when it cannot be written again (its batch was cancelled meanwhile):
    # for review, with the checks' flags.
    review: Quality | None = None


def editor_feedback(feedback: str | None) -> str | None:
    """The part of an item's feedback an editor wrote (the checks' reasons come after it)."""
    text = (feedback or "").split(CHECKS_SAID, 1)[0].strip()
    return text or None


def prepare(session: Session, item: GenerationItem, batch: AIGenerationTask) -> Job:
    tag = item.language or (batch.language if batch.language != AUTO else DEFAULT_LANGUAGE)
    profile = profiles.effective(session, batch.category)
    low, high = profile.spec.length_bounds(tag)
    request = ArticleRequest(
        # A regeneration writes the article under its current title (an editor may have
        # changed it); the title stays data in the prompt either way.
        title=articles.title_for_item(session, item.id) or item.title,
        category=batch.category,
        language=tag,
        instructions=profile.spec.instructions,
        min_length=low,
        max_length=high,
        model=profile.spec.model,
        temperature=profile.spec.temperature,
        feedback=item.feedback,
    )
    return Job(request, profile, editor_feedback(item.feedback))


def warm_up() -> None:
    """Load what the enabled checks need now (a worker calls it before its pool forks)."""
    enabled = set(get_settings().quality_checks)
    if "language" in enabled:
        language.warm_up()
    signatures.warm_up()  # every stored article is signed, whatever the checks


@dataclass(frozen=True)
class Library:
    """The category's stored articles, as the duplicate check's corpus (its own left out)."""

    item: GenerationItem
    job: Job

    def most_similar(self, text: str) -> signatures.Match | None:
        request = self.job.request
        # A connection the database dropped while in use (a restart, a failover, an admin's
        # pg_terminate_backend) is thrown away by the pool: read once more on a fresh one
        # rather than keep a good article "unchecked" for review.
        for attempt in (1, 2):
            try:
                with session_scope(read_only=True) as session:
                    return duplicates.nearest(
                        session, text, category=request.category, language=request.language,
                        exclude_item=self.item.id,
                        threshold=self.job.profile.spec.duplicate_threshold).match
            except OperationalError:
                if attempt == 2:
                    raise
                log.warning("item %s: the database dropped the connection reading the "
                            "articles to compare with; reading again", self.item.id)
        return None


def check(item: GenerationItem, job: Job, generated: Generated) -> QualityReport:
    settings = get_settings()
    enabled = set(settings.quality_checks)
    if generated.finish_reason == "length":
        enabled.add("truncated")  # the provider cut it: always said, whatever is enabled
    request = job.request
    return run_checks(
        seo.body_of(generated.content), title=request.title, language=request.language,
        thresholds=job.profile.spec.thresholds(request.language),
        finish_reason=generated.finish_reason, enabled=enabled,
        corpus=Library(item, job) if "duplicate" in enabled else None,
        extra_phrases=settings.quality_extra_phrases,
    )


def judge(item: GenerationItem, job: Job, generated: Generated) -> Verdict:
    """Keep the article (draft, or needs_review with its flags), or write it again."""
    try:
        report = check(item, job, generated)
    except Exception as exc:  # a bug in a check must not lose a paid-for article
        log.exception("item %s: the quality checks failed to run", item.id)
        # The cause in one line (a database error's text carries its SQL and parameters).
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
        flags = [{"name": "unchecked", "message": "the quality checks could not run: "
                  f"{type(exc).__name__}: {cause[0]}"}]
        return Verdict(_quality(job, ArticleStatus.NEEDS_REVIEW, flags))
    if report.passed:
        return Verdict(_quality(job, ArticleStatus.DRAFT, []))
    truncated = generated.finish_reason == "length"
    if truncated or item.regenerations >= get_settings().quality_max_regenerations:
        log.info("item %s kept for review: %s", item.id, ", ".join(report.names))
        return Verdict(_quality(job, ArticleStatus.NEEDS_REVIEW, report.to_list()))
    reason = "quality: " + "; ".join(flag.message for flag in report.flags)
    feedback = "\n\n".join(part for part in (job.note, report.feedback_for_prompt()) if part)
    log.info("item %s failed %s: writing it again", item.id, ", ".join(report.names))
    return Verdict(None, reason + " (writing it again)", feedback,
                   _quality(job, ArticleStatus.NEEDS_REVIEW, report.to_list()))


def _quality(job: Job, status: str, flags: list[dict[str, str]]) -> Quality:
    return Quality(status=status, flags=flags, language=job.request.language,
                   profile_id=job.profile.id, profile_version=job.profile.version,
                   note=job.note)
