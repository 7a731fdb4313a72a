"""Near-duplicate signatures: an article's MinHash and the LSH band keys it is found by.

    values = sketch(text)                     # its MinHash (None for a text without words)
    keys = band_keys("guide", values)         # the keys stored with it, every tier's
    keys = band_keys("guide", values, [tier_for(0.8)])   # the keys a check at 0.8 looks up
    similarities(values, [stored, ...])       # estimated Jaccard with each stored signature

Shingles: word 3-grams, and character 3-grams for Chinese, Japanese and Korean (one token a
character: ``split_tokens`` in app/llm/language.py), over the prose of the Markdown. A MinHash
has ``NUM_PERM`` values (datasketch, scheme affine32, seed 1: 4 bytes a value, 512 bytes stored).

**Bands.** LSH cuts a MinHash into b bands of r values; two articles of Jaccard similarity s
share a band with probability 1 - (1 - s^r)^b, so a lookup by band key finds the near copies
and, with r large enough, nothing else. datasketch's optimiser (``_optimal_param``) derives b
and r from a threshold, but each category profile has its own duplicate threshold (0.2 to 1.0,
changeable at any time) while an article's keys are stored once. So every article stores the
bands of three tiers, and a check looks up the highest tier at or below its threshold minus
``LSH_MARGIN`` (LSH misses pairs near its own threshold; ``DuplicateIndex`` has always tuned it
0.1 lower). With 128 permutations:

    tier (LSH threshold)   b x r    profile thresholds   P(candidate) at s = 0.05 / 0.2
    0.7                    14 x 9   0.8 (the default)+   3e-11 / 7e-6
    0.4                    32 x 4   0.5 to 0.8           2e-4  / 0.05
    0.2                    28 x 2   below 0.5            0.07  / 0.7

Two unrelated articles share about 5 % of their shingles; two written from one template on
one topic 15-25 % (the test server's guides, 26 % in Chinese). So only the default tier finds
nothing but near copies whatever the category's size; a lower threshold finds a share of the
category too (app/articles/duplicates.py caps how many it compares): that low a threshold
cannot tell a copy from a sibling without comparing them.

**Keys.** A band's key is 8 bytes of BLAKE2b over (category, the tier's b x r, the band's
number, its values): one index on the key serves every category, and a lookup by key is scoped
to the category (as the check always was) and to the tier.

``scheme()`` names all that makes two signatures comparable; a signature stored under another
scheme is never a candidate, and ``trustagency signatures backfill`` signs its article again.

datasketch (numpy and scipy behind it) takes about half a second to import, once per process
at start-up: every stored article is signed, so every process that stores one needs it anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH
from datasketch.lsh import _optimal_param

from app.articles.prose import prose
from app.llm.language import split_tokens

DEFAULT_DUPLICATE_THRESHOLD = 0.8
NUM_PERM = 128
SHINGLE_SIZE = 3
SEED = 1
MINHASH_SCHEME = "affine32"  # datasketch 2's default: 32-bit values, no permutation collisions
TIER_THRESHOLDS = (0.7, 0.4, 0.2)  # highest first
LSH_MARGIN = 0.1
# Bump when the shingles or the MinHash change in a way the numbers below do not show.
SCHEME_VERSION = 1

Values = npt.NDArray[np.uint32]


class Match(NamedTuple):
    key: Hashable
    similarity: float  # estimated Jaccard similarity of the shingle sets, 0..1


@dataclass(frozen=True)
class Tier:
    threshold: float  # the LSH threshold b and r were optimised for
    bands: int
    rows: int

    @property
    def label(self) -> str:
        return f"{self.bands}x{self.rows}"


# --- the MinHash --------------------------------------------------------------------------


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[bytes]:
    """3-token shingles: word 3-grams, and character 3-grams for CJK (one token a character)."""
    tokens = [token.lower() for token in split_tokens(prose(text))]
    if len(tokens) < size:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i:i + size]).encode() for i in range(len(tokens) - size + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> npt.NDArray[np.uint32]:
    """Drawn once per process (datasketch draws them again for every MinHash it builds)."""

    return MinHash(num_perm=num_perm, seed=SEED, scheme=MINHASH_SCHEME).permutations


def minhash(text: str, num_perm: int = NUM_PERM) -> MinHash | None:
    """The MinHash of ``text``'s shingles; None for a text with no words."""

    grams = shingles(text)
    if not grams:
        return None
    sketch_ = MinHash(num_perm=num_perm, seed=SEED, scheme=MINHASH_SCHEME,
                      permutations=_permutations(num_perm))
    sketch_.update_batch(list(grams))
    return sketch_


# A generation is checked and then stored within milliseconds, in the same thread and with the
# same string: keeping the last few saves computing its MinHash twice (~2 ms a 1,000-word text).
@lru_cache(maxsize=128)
def sketch(text: str) -> Values | None:
    """The stored form of ``text``'s MinHash: NUM_PERM little-endian uint32 (read-only)."""
    found = minhash(text)
    if found is None:
        return None
    values = np.ascontiguousarray(found.hashvalues, dtype="<u4")
    values.flags.writeable = False
    return values


def encode(values: Values) -> bytes:
    return values.tobytes()


def decode(data: bytes) -> Values:
    return np.frombuffer(data, dtype="<u4")


def similarities(values: Values, stored: Sequence[bytes]) -> npt.NDArray[np.float64]:
    """The estimated Jaccard similarity of ``values`` with each stored signature."""
    if not stored:
        return np.zeros(0)
    others = np.frombuffer(b"".join(stored), dtype="<u4").reshape(len(stored), -1)
    result: npt.NDArray[np.float64] = (others == values).mean(axis=1)
    return result


# --- the bands ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def tiers() -> tuple[Tier, ...]:
    """The bands every signature stores, highest threshold first (~40 ms once: a grid search)."""

    found = []
    for threshold in TIER_THRESHOLDS:
        bands, rows = _optimal_param(threshold, NUM_PERM, 0.5, 0.5)
        found.append(Tier(threshold, int(bands), int(rows)))
    return tuple(found)


@lru_cache(maxsize=1)
def scheme() -> str:
    """What two signatures must share to be compared (stored with each; at most 64 chars)."""
    return (f"v{SCHEME_VERSION} {MINHASH_SCHEME} {NUM_PERM}p {SHINGLE_SIZE}g "
            + " ".join(tier.label for tier in tiers()))


def lsh_threshold(threshold: float) -> float:
    return max(0.05, min(0.95, threshold - LSH_MARGIN))


def tier_for(threshold: float) -> Tier:
    """The tier a check at the duplicate ``threshold`` looks up."""
    wanted = lsh_threshold(threshold) + 1e-9
    return next((tier for tier in tiers() if tier.threshold <= wanted), tiers()[-1])


@lru_cache(maxsize=256)
def _band_hashers(category: str, tier: Tier) -> tuple[Any, ...]:
    """BLAKE2b fed with (category, tier, band number) already, one per band: copied per key."""
    return tuple(hashlib.blake2b(f"{category}\x1f{tier.label}\x1f{band}\x1f".encode(),
                                 digest_size=8) for band in range(tier.bands))


def band_keys(category: str, values: Values, of: Iterable[Tier] | None = None) -> list[int]:
    """The signed 64-bit keys of the bands of ``values`` (every tier's unless ``of``)."""
    raw = values.tobytes()
    keys = []
    for tier in tiers() if of is None else of:
        width = tier.rows * values.itemsize
        for band, hasher in enumerate(_band_hashers(category, tier)):
            digest = hasher.copy()
            digest.update(raw[band * width:(band + 1) * width])
            keys.append(int.from_bytes(digest.digest(), "big", signed=True))
    return keys


# --- in memory ----------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows for an LSH threshold: datasketch integrates for them (~15 ms), once."""

    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(bands), int(rows)


class DuplicateIndex:
    """A few texts in memory, to find the one a new text is a near copy of (the stored
    library is searched through its signatures instead: app/articles/duplicates.py).

        index = DuplicateIndex([(7, text7), (9, text9)], threshold=0.8)
        index.most_similar(new_text)   # Match(key=9, similarity=0.93) or None

    Candidates come from MinHash LSH tuned a little below ``threshold`` (LSH misses some pairs
    near its threshold), then are ranked by their estimated Jaccard similarity, so
    ``most_similar`` finds every text at or above ``threshold`` and may also return one a
    little below it: compare ``similarity`` with the threshold. Not thread-safe.
    """

    def __init__(
        self,
        items: Iterable[tuple[Hashable, str]] = (),
        *,
        threshold: float = DEFAULT_DUPLICATE_THRESHOLD,
        num_perm: int = NUM_PERM,
    ) -> None:

        self.threshold = threshold
        self.num_perm = num_perm
        params = _lsh_params(lsh_threshold(threshold), num_perm)
        self._lsh = MinHashLSH(num_perm=num_perm, params=params)
        self._sketches: dict[Hashable, MinHash] = {}
        for key, text in items:
            self.add(key, text)

    def __len__(self) -> int:
        return len(self._sketches)

    def __contains__(self, key: object) -> bool:
        return key in self._sketches

    def add(self, key: Hashable, text: str) -> None:
        """Index one text; a text without words is skipped, a known key is replaced."""
        found = minhash(text, self.num_perm)
        if key in self._sketches:
            self._lsh.remove(key)
            del self._sketches[key]
        if found is not None:
            self._lsh.insert(key, found)
            self._sketches[key] = found

    def most_similar(self, text: str, *, exclude: Hashable | None = None) -> Match | None:
        """The indexed text most like ``text`` among the LSH candidates, or None."""
        found = minhash(text, self.num_perm)
        if found is None:
            return None
        best: Match | None = None
        for key in self._lsh.query(found):
            if exclude is not None and key == exclude:
                continue
            similarity = float(found.jaccard(self._sketches[key]))
            if best is None or similarity > best.similarity:
                best = Match(key, similarity)
        return best


def warm_up() -> None:
    """Import datasketch and derive the tiers now (a worker calls it before its pool forks)."""
    tiers()
    _permutations(NUM_PERM)
