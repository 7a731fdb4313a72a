"""Quality checks run on each generated article, each with a name and a readable message.

    report = run_checks(text, title=title, language="zh-CN",
                        thresholds=profile.thresholds("zh-CN"), finish_reason="stop",
                        enabled=set(settings.quality_checks),
                        corpus=stored_signatures,  # or [(article.id, article.content), ...]
                        extra_phrases=settings.quality_extra_phrases)
    if not report.passed:
        request = replace(request, feedback=report.feedback_for_prompt())  # regenerate

The checks (``ALL_CHECKS``, in the order they run):

- ``length``: within the profile's bounds, in words for space-separated languages and in
  characters for Chinese, Japanese and Korean (``uses_characters``; a Latin word inside CJK
  text counts as one).
- ``structure``: a level-1 heading and at least ``min_sections`` ``##`` sections.
- ``language``: the body reads as the asked language (primary subtags compared, so zh-TW
  accepts zh-CN; a body too short to tell, or a language the detector does not know, passes).
- ``refusal``: no refusal or boilerplate phrase (``REFUSAL_PHRASES``, English and Chinese, plus
  ``extra_phrases`` from the QUALITY_EXTRA_PHRASES setting).
- ``duplicate``: not a near copy of another article of the category (MinHash/LSH over 3-token
  shingles: word 3-grams, character 3-grams for CJK; app/articles/signatures.py). ``corpus``
  is what finds the nearest one: the library's stored signatures (app/articles/duplicates.py)
  or a ``DuplicateIndex`` of a few texts in memory.
- ``truncated``: the model did not stop at its token limit (``finish_reason == "length"``).

Everything here is pure and fast but the ``corpus`` given (the duplicate check imports
datasketch on first use, ~0.5 s): the checks but the duplicate one cost ~2 ms of CPU for a
1,000-word article, ~0.5 ms for a Chinese one (bench/check_cost.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from app.articles.prose import prose, without_code
from app.articles.signatures import (
    DEFAULT_DUPLICATE_THRESHOLD,
    DuplicateIndex,
    Match,
    minhash,
    shingles,
)
from app.llm.language import (
    AUTO,
    UNDETERMINED,
    detect_language,
    detectable,
    has_tokens,
    language_confidence,
    language_name,
    primary,
    split_tokens,
    uses_characters,
)

ALL_CHECKS = ("length", "structure", "language", "refusal", "duplicate", "truncated")
# With the names that moved to app/articles/signatures.py and prose.py, importable from here
# as before.
__all__ = ["ALL_CHECKS", "DEFAULT_DUPLICATE_THRESHOLD", "DuplicateFinder", "DuplicateIndex",
           "Flag", "Match", "QualityReport", "Thresholds", "article_length", "find_refusal",
           "minhash", "prose", "run_checks", "shingles"]

# Matched case-insensitively, with curly apostrophes read as straight ones and, for phrases in
# CJK, whitespace ignored. Kept to what an article itself would not say.
REFUSAL_PHRASES = (
    "As an AI language model",
    "As an AI model",
    "As an AI assistant",
    "As a large language model",
    "As a language model",
    "I'm sorry, but I can't",
    "I'm sorry, but I cannot",
    "I can't help with",
    "I cannot help with",
    "I can't assist with",
    "I cannot assist with",
    "I can't provide",
    "I cannot provide",
    "I can't fulfill",
    "I cannot fulfill",
    "I cannot comply",
    "I'm unable to",
    "I am unable to",
    "I'm not able to",
    "I won't be able to",
    "my knowledge cutoff",
    "as of my last update",
    "I don't have access to real-time",
    "I do not have access to real-time",
    "Here is the article",
    "Here's the article",
    "Here is your article",
    "Here's your article",
    "[Insert ",
    "作为一个人工智能",
    "作为人工智能",
    "作为一个AI",
    "作为AI",
    "作为一个语言模型",
    "作为语言模型",
    "作为一个大型语言模型",
    "我无法",
    "我不能提供",
    "我不能协助",
    "我不能帮助",
    "很抱歉，我不能",
    "抱歉，我不能",
    "我的知识截止",
    "以下是文章",
    "以下是您要的文章",
)

# Below this many words (or CJK characters) there is too little text to tell its language.
MIN_LANGUAGE_TOKENS = 20
# A body detected as another Latin-script language passes while lingua gives the asked one at
# least this confidence (0..1).
LANGUAGE_DOUBT = 0.2


@dataclass(frozen=True)
class Thresholds:
    """What one category profile asks of an article, in the unit of the article's language
    (words, or characters when ``uses_characters``). None means no bound."""

    min_length: int | None = None
    max_length: int | None = None
    min_sections: int = 0
    duplicate_threshold: float = DEFAULT_DUPLICATE_THRESHOLD

    def __post_init__(self) -> None:
        if self.min_length is not None and self.max_length is not None \
                and self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is above max_length "
                             f"{self.max_length}")
        if not 0 < self.duplicate_threshold <= 1:
            raise ValueError("duplicate_threshold must be in (0, 1], an estimated Jaccard "
                             f"similarity; got {self.duplicate_threshold}")


@runtime_checkable
class DuplicateFinder(Protocol):
    """What finds the article a text is a near copy of (its own article left out)."""

    def most_similar(self, text: str) -> Match | None: ...


@dataclass(frozen=True)
class Flag:
    """One failed check. ``to_dict()`` is what an article stores and the API shows."""

    name: str
    message: str
    # Said to the model in the regeneration prompt, after the message.
    hint: str = ""
    # Machine-readable numbers behind the message (lengths, the duplicate's id ...).
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "message": self.message}


@dataclass(frozen=True)
class QualityReport:
    flags: tuple[Flag, ...] = ()
    checks: tuple[str, ...] = ()  # the checks that ran

    @property
    def passed(self) -> bool:
        return not self.flags

    @property
    def names(self) -> list[str]:
        return [flag.name for flag in self.flags]

    def to_list(self) -> list[dict[str, str]]:
        return [flag.to_dict() for flag in self.flags]

    def feedback_for_prompt(self) -> str:
        """The failed checks as sentences for the regeneration prompt; "" when it passed.

        Goes into ``ArticleRequest.feedback``."""
        if not self.flags:
            return ""
        reasons = "; ".join(flag.message for flag in self.flags)
        hints = " ".join(flag.hint for flag in self.flags if flag.hint)
        return f"The previous draft was rejected by the site's quality checks: {reasons}. " \
               f"{hints}".strip()


# --- helpers ------------------------------------------------------------------------------

_H1 = re.compile(r"^#[ \t]+\S.*$|^[^\s#>|-][^\n]*\n=+[ \t]*$", re.M)
_H2 = re.compile(r"^##[ \t]+\S", re.M)


def article_length(text: str) -> int:
    """Words, with each CJK character counted as one (see ``split_tokens``)."""
    return len(split_tokens(prose(text)))


def length_unit(language: str) -> str:
    return "characters" if uses_characters(language) else "words"


def _normalize(text: str) -> str:
    """Lower case, straight apostrophes, single spaces (str.split's whitespace is ``\\s``)."""
    text = text.replace("’", "'").replace("‘", "'").replace("＇", "'")
    return " ".join(text.split()).lower()


_CJK_IN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")


@lru_cache(maxsize=256)
def _phrase_pattern(phrase: str) -> tuple[str, bool, re.Pattern[str]]:
    """The phrase's literal core, whether it is CJK, and the pattern that decides.

    The literal is a cheap first test (``in``, no regular expression): the normalised text has
    single spaces only, so an English match contains the phrase as typed, and a CJK match
    (any whitespace between characters) contains it once the text's spaces are taken out.
    """
    norm = _normalize(phrase).strip()
    if _CJK_IN.search(norm):
        # CJK has no spaces between words: allow any whitespace between characters.
        literal = norm.replace(" ", "")
        return literal, True, re.compile(r"\s*".join(re.escape(ch) for ch in literal))
    # English: whole words, so "ai can't help with" is not "I can't help with".
    start = r"(?<!\w)" if norm[:1].isalnum() else ""
    end = r"(?!\w)" if norm[-1:].isalnum() else ""
    return norm, False, re.compile(start + re.escape(norm).replace(r"\ ", r"\s+") + end)


def find_refusal(text: str, extra_phrases: Iterable[str] = ()) -> str | None:
    """The first refusal or boilerplate phrase in ``text``, as listed, or None."""
    norm = _normalize(text)
    squeezed = norm.replace(" ", "")
    for phrase in (*REFUSAL_PHRASES, *extra_phrases):
        if not phrase.strip():
            continue
        literal, cjk, pattern = _phrase_pattern(phrase)
        if literal in (squeezed if cjk else norm) and pattern.search(norm):
            return phrase.strip()
    return None


# --- the checks ---------------------------------------------------------------------------


def _check_length(text: str, language: str, thresholds: Thresholds) -> Flag | None:
    n, unit = article_length(text), length_unit(language)
    details = {"length": n, "unit": unit, "min": thresholds.min_length,
               "max": thresholds.max_length}
    if thresholds.min_length is not None and n < thresholds.min_length:
        return Flag("length", f"too short: {n:,} {unit}, the profile asks for at least "
                    f"{thresholds.min_length:,}",
                    f"Write at least {thresholds.min_length:,} {unit}.", details)
    if thresholds.max_length is not None and n > thresholds.max_length:
        return Flag("length", f"too long: {n:,} {unit}, the profile asks for at most "
                    f"{thresholds.max_length:,}",
                    f"Keep it under {thresholds.max_length:,} {unit}.", details)
    return None


def _check_structure(text: str, thresholds: Thresholds) -> Flag | None:
    body = without_code(text)
    has_h1 = bool(_H1.search(body))
    sections = len(_H2.findall(body))
    problems = []
    if not has_h1:
        problems.append('no level-1 heading (a line like "# Title")')
    if sections < thresholds.min_sections:
        noun = "section" if sections == 1 else "sections"
        problems.append(f"{sections} {noun} (## headings), the profile asks for at least "
                        f"{thresholds.min_sections}")
    if not problems:
        return None
    return Flag("structure", "structure: " + " and ".join(problems),
                f"Start with a level-1 heading (# title) and use at least "
                f"{thresholds.min_sections} sections with ## headings.",
                {"level1_heading": has_h1, "sections": sections,
                 "min_sections": thresholds.min_sections})


def _check_language(text: str, title: str, language: str) -> Flag | None:
    if language in (AUTO, UNDETERMINED) or not detectable(language):
        return None  # nothing to compare with, or a language the detector cannot recognise
    body = prose(_H1.sub("", text, count=1))
    if title:
        body = body.replace(title, " ")
    if not has_tokens(body, MIN_LANGUAGE_TOKENS):
        return None
    detected = detect_language(body)
    if detected == UNDETERMINED or primary(detected) == primary(language):
        return None
    if not uses_characters(detected) and not uses_characters(language):
        # Two Latin-script languages: lingua's low-accuracy mode reads a repetitive English
        # paragraph as German (0.7 to 0.3). Only a clear miss is worth a regeneration.
        confidence = language_confidence(body, language)
        if confidence is not None and confidence >= LANGUAGE_DOUBT:
            return None
    return Flag("language", f"wrong language: the article reads as {language_name(detected)}, "
                f"the request asks for {language_name(language)}",
                f"Write every heading and paragraph in {language_name(language)}.",
                {"detected": detected, "expected": language})


def _check_refusal(text: str, extra_phrases: Iterable[str]) -> Flag | None:
    phrase = find_refusal(text, extra_phrases)
    if phrase is None:
        return None
    return Flag("refusal", f'refusal or boilerplate: the answer contains "{phrase}"',
                "Answer with the article itself: no refusal, apology, preamble or remark "
                "about being an AI.", {"phrase": phrase})


def _check_duplicate(
    text: str,
    language: str,
    thresholds: Thresholds,
    corpus: DuplicateFinder | Iterable[tuple[Hashable, str]] | None,
) -> Flag | None:
    if corpus is None:
        return None
    finder = corpus if isinstance(corpus, DuplicateFinder) else DuplicateIndex(
        corpus, threshold=thresholds.duplicate_threshold)
    match = finder.most_similar(text)
    if match is None or match.similarity < thresholds.duplicate_threshold:
        return None
    grams = "3-character" if uses_characters(language) else "3-word"
    return Flag("duplicate", f"near-duplicate of article {match.key}: about "
                f"{match.similarity:.0%} of their {grams} shingles are shared (estimated), "
                f"the profile allows up to {thresholds.duplicate_threshold:.0%}",
                "Take a fresh angle on the topic, with your own structure and wording.",
                {"duplicate_of": match.key, "similarity": round(match.similarity, 3),
                 "threshold": thresholds.duplicate_threshold})


def _check_truncated(finish_reason: str | None) -> Flag | None:
    if finish_reason != "length":
        return None
    return Flag("truncated", 'truncated: the model stopped at its token limit '
                '(finish_reason "length") before the article was finished',
                "Finish the article, conclusion included, within the length asked for.",
                {"finish_reason": finish_reason})


def run_checks(
    article_text: str,
    *,
    title: str,
    language: str,
    thresholds: Thresholds,
    finish_reason: str | None = None,
    enabled: Collection[str] | None = None,
    corpus: DuplicateFinder | Iterable[tuple[Hashable, str]] | None = None,
    extra_phrases: Iterable[str] = (),
) -> QualityReport:
    """Run the ``enabled`` checks (default ``ALL_CHECKS``) on one article.

    ``language`` is the tag the article was asked in (resolved, not ``auto``); ``thresholds``
    are the profile's, in that language's unit; ``finish_reason`` is the provider's (None when
    unknown); ``corpus`` finds the other articles of the category: a ``DuplicateFinder`` (the
    stored signatures, a ``DuplicateIndex``) or (id, text) pairs, without the article itself;
    ``extra_phrases`` extend ``REFUSAL_PHRASES`` (the QUALITY_EXTRA_PHRASES setting). Raises
    ValueError for an unknown check name.
    """
    names = set(ALL_CHECKS if enabled is None else enabled)
    unknown = names - set(ALL_CHECKS)
    if unknown:
        raise ValueError(f"unknown quality check(s) {sorted(unknown)}; the checks are "
                         f"{', '.join(ALL_CHECKS)}")
    runs = {
        "length": lambda: _check_length(article_text, language, thresholds),
        "structure": lambda: _check_structure(article_text, thresholds),
        "language": lambda: _check_language(article_text, title, language),
        "refusal": lambda: _check_refusal(article_text, extra_phrases),
        "duplicate": lambda: _check_duplicate(article_text, language, thresholds, corpus),
        "truncated": lambda: _check_truncated(finish_reason),
    }
    ran = tuple(name for name in ALL_CHECKS if name in names)
    flags = tuple(flag for name in ran if (flag := runs[name]()) is not None)
    return QualityReport(flags=flags, checks=ran)
