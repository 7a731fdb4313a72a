"""The post we build for an article (draft_for): fields, marker, slugs in ASCII."""

from __future__ import annotations

from app.articles.models import Article
from app.publishing.draft import draft_for, marker_for
from app.publishing.enums import PostStatus
from app.publishing.models import PublishTarget
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE


def _target(**values: object) -> PublishTarget:
    return PublishTarget(id=3, key="k3y", default_status="pending",
                         category_map={"guide": "Guides"}, **values)


def _article(spec: dict[str, str], **values: object) -> Article:
    return Article(**{"id": 7, "category": "guide", "version": 1, **spec, **values})


def test_an_english_article() -> None:
    draft = draft_for(_article(EN_ARTICLE), _target())
    assert draft.title == "Index funds explained"
    assert draft.slug == "index-funds-explained"
    assert draft.status is PostStatus.PENDING and draft.date_gmt is None
    assert draft.category == "Guides" and draft.tags == ("guide",)
    assert draft.html.startswith(marker_for(7, "k3y"))
    assert "<h1>" not in draft.html  # the title is WordPress's own, not repeated
    assert "<h2>Overview</h2>" in draft.html
    assert draft.excerpt.startswith("An index fund follows a market index")
    assert "#" not in draft.excerpt and "Overview" not in draft.excerpt
    assert len(draft.meta_description) <= 155 and len(draft.seo_title) <= 60


def test_a_chinese_article_gets_a_pinyin_slug_and_keeps_its_text() -> None:
    draft = draft_for(_article(ZH_ARTICLE), _target())
    assert draft.slug == "ru-he-xuan-ze-yi-jia-kao-pu-de-jia-mi-huo-bi-jiao-yi-suo"
    assert draft.slug.isascii()
    assert "比特币钱包的安全最重要" in draft.html and "<table>" in draft.html
    assert draft.excerpt.startswith("比特币钱包的安全最重要")
    assert "|" not in draft.excerpt
    assert draft.language == "zh-CN"


def test_an_unmapped_category_is_sent_under_its_own_name_and_raw_html_is_escaped() -> None:
    article = _article(EN_ARTICLE, category="news",
                       content="Intro <script>alert(1)</script> text.\n")
    draft = draft_for(article, _target())
    assert draft.category == "news"
    assert "<script>" not in draft.html and "&lt;script&gt;" in draft.html


def test_long_texts_are_cut_at_a_word() -> None:
    words = " ".join(["word"] * 200)
    draft = draft_for(_article(EN_ARTICLE, title="A " + words, content=words), _target())
    assert len(draft.excerpt) <= 300 and draft.excerpt.endswith("word…")
    assert len(draft.seo_title) <= 60 and draft.seo_title.endswith("…")
