"""Article languages: BCP 47 tags, offline detection, and names for prompts.

- ``normalize_language(tag)`` validates a tag a user typed (``zh_cn`` → ``zh-CN``) or ``auto``.
- ``resolve_language(requested, title)`` turns ``auto`` into the title's own language.
- ``detect_language(text)`` says which language a text is in, offline: Unicode script for
  Chinese, Japanese and Korean, ``lingua-language-detector`` (models inside the wheel) for a
  modest set of other languages; ``und`` when it cannot tell.
- ``language_name(tag)`` names a tag for a prompt: ``Simplified Chinese (zh-CN)``.
- ``uses_characters(tag)``: lengths are counted in characters, not words (zh, ja, ko).

Detection costs: texts of ``SHORT_TEXT`` characters or more go to lingua's low-accuracy mode
(about 0.2 s and 30 MB to load, once per process); shorter Latin-script texts, titles mostly,
need its high-accuracy mode to be right (about 2 s and 250 MB, loaded only when first needed).
Both detectors are built lazily, once, and are safe to share between threads. So resolve
``auto`` once per title where the batch is accepted and store the tag; a worker then only
needs the cheap detector for the quality check. ``warm_up()`` loads a detector ahead of time.

Per text, both modes cost about the same CPU, ~0.6 µs a character (3.6 ms for a 1,000-word
article), so a long text is judged by lingua on ``text_sample`` (``SAMPLE_CHARS`` from its
start, middle and end: ~0.8 ms), which answers as the whole text does for every language here
(tests/llm/test_language.py; bench/check_cost.py measures it); scripts are counted on the whole
text, by regular expressions (~0.1 ms).
"""

from __future__ import annotations

import re
import threading
from itertools import islice

# Importing lingua is cheap (its models load when a detector is built, below).
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

AUTO = "auto"
UNDETERMINED = "und"
DEFAULT_LANGUAGE = "en"
# Below this many characters lingua's low-accuracy mode guesses wrong too often (its README says
# so, and English titles come out Vietnamese or Spanish), so short texts use the accurate mode.
SHORT_TEXT = 120
# What lingua reads of a longer text: windows at its start, middle and end (see text_sample).
SAMPLE_CHARS = 1200
SAMPLE_WINDOWS = 3

_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$")

# Languages lingua chooses between (ISO 639-1); CJK is decided by script before lingua runs.
# A modest set keeps memory down and short texts from being read as a far-off language.
LINGUA_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "ru", "pl", "tr")
CHARACTER_LANGUAGES = frozenset({"zh", "ja", "ko"})

_NAMES = {
    "en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "de": "German",
    "fr": "French", "es": "Spanish", "pt": "Portuguese", "it": "Italian", "nl": "Dutch",
    "ru": "Russian", "pl": "Polish", "tr": "Turkish", "vi": "Vietnamese", "id": "Indonesian",
    "ar": "Arabic", "hi": "Hindi", "sv": "Swedish", "da": "Danish", "no": "Norwegian",
    "fi": "Finnish", "cs": "Czech", "uk": "Ukrainian", "el": "Greek", "he": "Hebrew",
    "th": "Thai", "ms": "Malay", "ro": "Romanian", "hu": "Hungarian",
    "zh-CN": "Simplified Chinese", "zh-SG": "Simplified Chinese", "zh-Hans": "Simplified Chinese",
    "zh-TW": "Traditional Chinese", "zh-HK": "Traditional Chinese (Hong Kong)",
    "zh-MO": "Traditional Chinese (Macau)",
    "zh-Hant": "Traditional Chinese", "en-US": "American English", "en-GB": "British English",
    "pt-BR": "Brazilian Portuguese", "pt-PT": "European Portuguese",
}

# Unicode blocks (inclusive) of the scripts decided without lingua.
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF))
_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF))
_CJK_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _HAN + _KANA + _HANGUL)
# One CJK character, or a run of letters of any other script (digits are not language).
_TOKEN = re.compile(f"[{_CJK_CLASS}]|[^\\W\\d_{_CJK_CLASS}]+")
# The same with digits: what lengths and shingles count.
_WORD = re.compile(f"[{_CJK_CLASS}]|[^\\W_{_CJK_CLASS}]+(?:['’][^\\W_{_CJK_CLASS}]+)*")


def _class(blocks: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    return re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in blocks) + "]")


# What _by_script counts: characters of each CJK script, and runs of other letters (_TOKEN's
# second half), each with one C-level findall rather than a Python loop over the tokens.
_CJK_CHAR = _class(_HAN + _KANA + _HANGUL)
_HAN_CHAR, _KANA_CHAR, _HANGUL_CHAR = _class(_HAN), _class(_KANA), _class(_HANGUL)
_OTHER_WORD = re.compile(f"[^\\W\\d_{_CJK_CLASS}]+")


def _in(ch: str, blocks: tuple[tuple[int, int], ...]) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in blocks)


def is_cjk(ch: str) -> bool:
    """True for one Han, kana or Hangul character."""
    return _in(ch, _HAN) or _in(ch, _KANA) or _in(ch, _HANGUL)


def split_tokens(text: str) -> list[str]:
    """Each CJK character on its own, and every other word (letters and digits), in order.

    This is how lengths are counted (words for space-separated languages, characters for CJK;
    a Latin word inside Chinese text counts as one) and what near-duplicate shingles are made of.
    """
    return _WORD.findall(text)


def has_tokens(text: str, count: int) -> bool:
    """Whether ``text`` has at least ``count`` tokens (as split_tokens counts), reading no
    further than the ``count``-th."""
    return count <= 0 or next(islice(_WORD.finditer(text), count - 1, None), None) is not None


def normalize_language(tag: str) -> str:
    """A BCP 47-ish tag in canonical case (``zh-CN``, ``en``, ``zh-Hant``), or ``auto``.

    Underscores are read as hyphens (``zh_cn``). Raises ValueError with a readable message for
    anything else; the API can show it as is.
    """
    if not isinstance(tag, str):
        raise ValueError(f"language must be a string like 'en' or 'zh-CN', not {tag!r}")
    cleaned = tag.strip().replace("_", "-")
    if cleaned.lower() == AUTO:
        return AUTO
    if not _TAG.match(cleaned):
        raise ValueError(
            f"language {tag!r} is not a BCP 47 tag: use a language code such as 'en', 'de', "
            "'zh-CN' or 'ja', or 'auto' for each title's own language"
        )
    first, *rest = cleaned.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())  # region: CN, TW, US
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script: Hans, Hant, Latn
        else:
            parts.append(part.lower())  # region 419, variants, extensions
    return "-".join(parts)


def primary(tag: str) -> str:
    """The primary language subtag: ``zh`` for ``zh-CN``."""
    return tag.split("-", 1)[0].lower()


def uses_characters(tag: str) -> bool:
    """True when lengths are counted in characters (Chinese, Japanese, Korean), not words."""
    return primary(tag) in CHARACTER_LANGUAGES


def language_name(tag: str) -> str:
    """A name for prompts and messages: ``Simplified Chinese (zh-CN)``, ``English (en)``."""
    first, *rest = tag.split("-")
    # A script subtag names the writing system: zh-Hant-TW is Traditional Chinese, not "Chinese"
    # (the model would pick a script itself).
    script = [f"{first}-{rest[0]}"] if rest and len(rest[0]) == 4 and rest[0].isalpha() else []
    name = next((_NAMES[key] for key in (tag, *script, primary(tag)) if key in _NAMES), None)
    return f"{name} ({tag})" if name else f"the language with the BCP 47 tag {tag}"


def detectable(tag: str) -> bool:
    """Whether detect_language can recognise this language (so a check may rely on it)."""
    return primary(tag) in CHARACTER_LANGUAGES or primary(tag) in LINGUA_LANGUAGES


def _by_script(text: str) -> str | None:
    """zh-CN / ja / ko when CJK characters outnumber the words of other scripts, else None."""
    if not _CJK_CHAR.search(text):
        return None  # most texts: one scan, and no list of their words
    han = len(_HAN_CHAR.findall(text))
    kana = len(_KANA_CHAR.findall(text))
    hangul = len(_HANGUL_CHAR.findall(text))
    other = len(_OTHER_WORD.findall(text))
    cjk = han + kana + hangul
    # A Chinese sentence with "ETF" in it is Chinese; an English article quoting 比特币 is not.
    if not cjk or cjk < other:
        return None
    if hangul > han + kana:
        return "ko"
    # Japanese always has kana; a stray の in a long Chinese text does not make it Japanese.
    if kana and kana >= 0.05 * (han + kana):
        return "ja"
    return "zh-CN"


_lock = threading.Lock()
_detectors: dict[bool, LanguageDetector] = {}


def _detector(accurate: bool, preload: bool = False) -> LanguageDetector:
    detector = _detectors.get(accurate)
    if detector is None:
        with _lock:
            detector = _detectors.get(accurate)
            if detector is None:
                languages = [
                    Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                    for code in LINGUA_LANGUAGES
                ]
                builder = LanguageDetectorBuilder.from_languages(*languages)
                if accurate:
                    # Unsure about a short text: say so (und) rather than guess Dutch.
                    builder = builder.with_minimum_relative_distance(0.1)
                else:
                    builder = builder.with_low_accuracy_mode()
                if preload:
                    # lingua loads each language's n-gram models lazily, on the first text
                    # that needs them: warming up with one word left ~10 s (on a busy machine)
                    # for the first real title to pay.
                    builder = builder.with_preloaded_language_models()
                detector = _detectors[accurate] = builder.build()
    return detector


def warm_up(*, accurate: bool = False) -> None:
    """Load the low-accuracy detector (or the accurate one for short texts) now, not on first
    use: at process start, so the first article or request does not wait for it."""
    _detector(accurate, preload=True).detect_language_of("warm up")


def text_sample(text: str, size: int = SAMPLE_CHARS, windows: int = SAMPLE_WINDOWS) -> str:
    """``text`` itself when it has at most ``size`` characters, else ``windows`` windows of it,
    evenly spread from its start to its end, ``size`` characters in all, cut between words
    where there are spaces (a cut word would be a word of no language), one per line."""
    if len(text) <= size or windows < 1:
        return text
    width = size // windows
    parts = []
    for i in range(windows):
        start = i * (len(text) - width) // max(1, windows - 1)  # the last one ends the text
        window = text[start:start + width]
        first, last = window.find(" "), window.rfind(" ")
        if start and first >= 0:
            window = window[first + 1:]
            last -= first + 1
        if start + width < len(text) and last > 0:
            window = window[:last]
        parts.append(window)
    return "\n".join(parts)


def detect_language(text: str) -> str:
    """The language of ``text`` as a BCP 47 tag: ``zh-CN``, ``ja``, ``ko``, ``en``, ``de`` ...

    ``und`` (undetermined) when the text has no letters or lingua is unsure. Chinese is
    reported as ``zh-CN`` whatever its script variant; the primary subtag is what to compare.
    Scripts are counted on the whole text; lingua reads ``text_sample(text)``.
    """
    if not _TOKEN.search(text):
        return UNDETERMINED
    by_script = _by_script(text)
    if by_script:
        return by_script
    sample = text_sample(text)
    found = _detector(accurate=len(sample.strip()) < SHORT_TEXT).detect_language_of(sample)
    if found is None:
        return UNDETERMINED
    return found.iso_code_639_1.name.lower()


def language_confidence(text: str, tag: str) -> float | None:
    """How sure lingua is, from 0 to 1, that ``text`` is in the language of ``tag``; None for
    a language it does not rank (CJK is decided by script, see detect_language). Judged on
    ``text_sample(text)``, as detect_language is."""
    code = primary(tag)
    if code not in LINGUA_LANGUAGES:
        return None
    language = Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    sample = text_sample(text)
    detector = _detector(accurate=len(sample.strip()) < SHORT_TEXT)
    return float(detector.compute_language_confidence(sample, language))


def resolve_language(requested: str | None, title: str, default: str = DEFAULT_LANGUAGE) -> str:
    """The tag to write ``title`` in: ``requested`` normalised, or the title's own language
    when it is ``auto`` (or empty); ``default`` when the title has no letters to go by."""
    tag = normalize_language(requested) if requested and requested.strip() else AUTO
    if tag != AUTO:
        return tag
    detected = detect_language(title)
    return normalize_language(default) if detected == UNDETERMINED else detected
