"""The MinHash and band keys each article stores (pure: no database)."""

from __future__ import annotations

import pytest
from datasketch.lsh import _optimal_param

from app.articles import signatures
from app.articles.signatures import band_keys, sketch, tier_for, tiers
from app.llm.base import ArticleRequest
from app.llm.offline import draft

EN = draft(ArticleRequest("Index funds explained", "general", language="en"))
ZH = draft(ArticleRequest("什么是 ETF？新手投资入门", "general", language="zh-CN"))


def _changed(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_the_bands_are_the_optimisers_for_each_tier() -> None:
    """A change here changes every stored key: scheme() changes with it, so a backfill signs
    the library again (and this pin says it happened)."""
    assert [(t.threshold, t.bands, t.rows) for t in tiers()] == [
        (0.7, 14, 9), (0.4, 32, 4), (0.2, 28, 2)]
    for tier in tiers():
        assert (tier.bands, tier.rows) == _optimal_param(tier.threshold, 128, 0.5, 0.5)
    assert signatures.scheme() == "v1 affine32 128p 3g 14x9 32x4 28x2"


@pytest.mark.parametrize(("threshold", "tier"), [
    (1.0, 0.7), (0.9, 0.7), (0.8, 0.7), (0.79, 0.4), (0.5, 0.4), (0.49, 0.2), (0.2, 0.2)])
def test_a_check_looks_up_the_tier_below_its_threshold(threshold: float, tier: float) -> None:
    assert tier_for(threshold).threshold == tier


def test_a_near_copy_shares_a_band_of_the_default_tier_and_another_draft_none() -> None:
    for text, copy, other in (
            (EN, _changed(EN, ("Overview", "Summary")), draft(ArticleRequest(
                "Budgeting for students", "general", language="en"))),
            (ZH, _changed(ZH, ("概述", "简介")), draft(ArticleRequest(
                "比特币钱包安全指南", "general", language="zh-CN")))):
        stored, near, far = sketch(text), sketch(copy), sketch(other)
        assert stored is not None and near is not None and far is not None
        default = [tier_for(0.8)]
        assert set(band_keys("guide", stored, default)) & set(band_keys("guide", near, default))
        assert not set(band_keys("guide", stored, default)) & set(band_keys("guide", far,
                                                                               default))
        scores = signatures.similarities(near, [signatures.encode(stored),
                                                signatures.encode(far)])
        assert scores[0] >= 0.8 and scores[1] < 0.5  # placeholder drafts share a third


def test_the_keys_are_scoped_to_the_category() -> None:
    values = sketch(EN)
    assert values is not None
    guide, news = band_keys("guide", values), band_keys("news", values)
    assert len(guide) == sum(t.bands for t in tiers()) == len(set(guide))
    assert not set(guide) & set(news)


def test_a_signature_is_512_bytes_and_reads_back_the_same() -> None:
    values = sketch(ZH)
    assert values is not None and len(signatures.encode(values)) == 512
    assert (signatures.decode(signatures.encode(values)) == values).all()
    assert signatures.similarities(values, [signatures.encode(values)])[0] == 1.0


def test_the_estimate_is_datasketchs() -> None:
    copy = _changed(EN, ("Overview", "Summary"), ("Before anything else", "First of all"))
    ours = signatures.similarities(sketch(copy), [signatures.encode(sketch(EN))])[0]
    first, second = signatures.minhash(copy), signatures.minhash(EN)
    assert first is not None and second is not None
    assert ours == pytest.approx(first.jaccard(second))


def test_a_text_without_words_has_no_signature() -> None:
    assert sketch("") is None and sketch("```\ncode only\n```") is None
