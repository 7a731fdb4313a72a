"""Storing an article's SEO fields with a slug unique within its language.

A generated slug that another article of the language holds gets a suffix (-2, -3 ...), chosen
in the transaction that stores it. Two writers choosing at once are ordered by the unique index
(language, slug): the second one's UPDATE fails inside a savepoint and it chooses again. An
editor's own slug is never changed behind their back: a taken one is a 409 naming its holder.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.articles import repository, seo
from app.articles.errors import ArticleError

ATTEMPTS = 5


def free_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-<n>` with the smallest n >= 2 not in `taken` (within MAX_SLUG)."""
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = base[: seo.MAX_SLUG - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def store(session: Session, article_id: int, version: int, language: str | None,
          fields: seo.SeoFields, flags: list[dict[str, str]]) -> str:
    """Write `fields` on the article and its `version`, the slug made free; the slug used."""
    values = fields.as_dict()
    for _attempt in range(ATTEMPTS):
        taken = repository.slugs_taken(session, language, fields.slug, exclude_id=article_id)
        values["slug"] = free_slug(fields.slug, taken)
        try:
            with session.begin_nested():
                repository.set_seo(session, article_id, version, seo_flags=flags, **values)
            return str(values["slug"])
        except IntegrityError:  # another article took it meanwhile: choose again
            continue
    raise ArticleError.conflict("slug", f"no free slug like {fields.slug!r} after {ATTEMPTS} "
                                "tries; try again")


def store_exact(session: Session, article_id: int, version: int, language: str | None,
                values: dict[str, object], flags: list[dict[str, str]]) -> None:
    """Write an editor's fields; their slug as given, or a 409 when another article has it."""
    slug = str(values["slug"])
    owner = repository.slug_owner(session, language, slug, exclude_id=article_id)
    try:
        if owner is None:
            with session.begin_nested():
                repository.set_seo(session, article_id, version, seo_flags=flags, **values)
            return
    except IntegrityError:
        owner = repository.slug_owner(session, language, slug, exclude_id=article_id)
    raise ArticleError.conflict("slug", f"{slug!r} is taken by article {owner} in language "
                                f"{language or 'none'}: choose another")
