"""The default category profiles, as data: what a site gets before it edits any profile.

A profile says, for one category, how its articles are written (instructions from the site:
audience, tone, required sections, Markdown conventions), how long they are (in words for
space-separated languages, in characters for Chinese, Japanese and Korean), which model and
temperature write them (None: the configured LLM settings) and the quality thresholds
(app/articles/quality.py). An unknown category uses ``DEFAULT_PROFILES["default"]``:

    spec = default_profile(category)
    low, high = spec.length_bounds("zh-CN")      # characters for CJK, words otherwise
    thresholds = spec.thresholds("zh-CN")        # for quality.run_checks

The bounds fit the default LLM_MAX_TOKENS (1,500): about 0.75 English words or 1 Chinese
character a token.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.articles.quality import DEFAULT_DUPLICATE_THRESHOLD, Thresholds
from app.llm.language import uses_characters

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class ProfileSpec:
    name: str
    instructions: str
    min_words: int
    max_words: int
    min_chars: int  # for languages counted in characters (zh, ja, ko)
    max_chars: int
    min_sections: int = 3  # ## sections, besides the level-1 heading
    duplicate_threshold: float = DEFAULT_DUPLICATE_THRESHOLD  # estimated Jaccard, 0..1
    model: str | None = None  # None: OPENAI_MODEL
    temperature: float | None = None  # None: LLM_TEMPERATURE

    def __post_init__(self) -> None:
        if not 0 < self.min_words <= self.max_words:
            raise ValueError(f"profile {self.name!r}: need 0 < min_words <= max_words")
        if not 0 < self.min_chars <= self.max_chars:
            raise ValueError(f"profile {self.name!r}: need 0 < min_chars <= max_chars")
        if self.min_sections < 0:
            raise ValueError(f"profile {self.name!r}: min_sections must be >= 0")
        if not 0 < self.duplicate_threshold <= 1:
            raise ValueError(f"profile {self.name!r}: duplicate_threshold must be in (0, 1]")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ValueError(f"profile {self.name!r}: temperature must be in [0, 2]")

    def length_bounds(self, language: str) -> tuple[int, int]:
        """(min, max) in the unit of ``language``: characters for CJK, words otherwise."""
        if uses_characters(language):
            return self.min_chars, self.max_chars
        return self.min_words, self.max_words

    def thresholds(self, language: str) -> Thresholds:
        """The quality thresholds for an article in ``language``."""
        low, high = self.length_bounds(language)
        return Thresholds(min_length=low, max_length=high, min_sections=self.min_sections,
                          duplicate_threshold=self.duplicate_threshold)


_MARKDOWN = (
    "Markdown conventions: one level-1 heading (# ) with the title, ## for sections, ### for "
    "subsections if needed, short paragraphs, bulleted or numbered lists where they help, "
    "**bold** for key terms only. No HTML, no front matter, no code fences around the article."
)

DEFAULT_PROFILES: dict[str, ProfileSpec] = {
    spec.name: spec
    for spec in (
        ProfileSpec(
            name=DEFAULT_PROFILE,
            instructions=(
                "Audience: general readers who are new to the topic. Tone: clear, friendly, "
                "factual; no hype and no invented statistics. Structure: a short introduction, "
                "at least three ## sections that each answer one question a reader has, and a "
                "## conclusion with the key takeaway. " + _MARKDOWN
            ),
            min_words=500, max_words=1500, min_chars=800, max_chars=2500, min_sections=3,
        ),
        ProfileSpec(
            name="guide",
            instructions=(
                "A practical how-to guide. Audience: beginners who want to act on it. Tone: "
                "encouraging and precise. Structure: an introduction saying what the reader "
                "will be able to do, a ## section on what to prepare, numbered ## steps with "
                "concrete actions, a ## section of common mistakes and how to avoid them, "
                "and a ## checklist or conclusion. " + _MARKDOWN
            ),
            min_words=700, max_words=1500, min_chars=1200, max_chars=2500, min_sections=4,
        ),
        ProfileSpec(
            name="review",
            instructions=(
                "A balanced product or service review. Audience: readers deciding whether to "
                "choose it. Tone: independent and evidence-based; say who it suits and who it "
                "does not. Structure: an introduction with the verdict in one sentence, ## "
                "sections on features, costs and fees, and safety or reliability, a ## Pros "
                "and cons section with a Markdown table (| Pros | Cons |), and a ## verdict "
                "with a rating out of 5. " + _MARKDOWN
            ),
            min_words=800, max_words=1200, min_chars=1200, max_chars=2000, min_sections=4,
        ),
        ProfileSpec(
            name="news",
            instructions=(
                "A news article. Audience: readers who follow the market. Tone: neutral and "
                "concise, inverted pyramid: the most important facts in the first paragraph. "
                "Structure: a lead paragraph, ## sections on the background and on what it "
                "means for readers, and a short ## outlook. Date and attribute claims; do not "
                "speculate. " + _MARKDOWN
            ),
            min_words=300, max_words=700, min_chars=500, max_chars=1200, min_sections=2,
        ),
    )
}


def default_profile(category: str) -> ProfileSpec:
    """The default profile of ``category`` (case-insensitive), or the ``default`` one."""
    return DEFAULT_PROFILES.get(category.strip().lower(), DEFAULT_PROFILES[DEFAULT_PROFILE])
