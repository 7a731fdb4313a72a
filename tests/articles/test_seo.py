"""SEO fields: read from the model's front-matter block, or derived and flagged; a slug ASCII
(pinyin for Chinese) and unique within its language; editable as a version (real databases)."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest
import yaml

from app.articles import seo, service, slugs
from app.articles.errors import ArticleError
from app.articles.models import Article
from app.batches import service as batches
from app.batches import state
from app.core.db import session_scope
from app.llm.base import ArticleRequest, Generated
from app.llm.prompt import build_messages
from tests.support.articles import EN_ARTICLE, add_batch
from tests.support.fake_openai import make_pieces

ZH_TITLE = "如何选择一家靠谱的银行"
ZH_BODY = ("# 如何选择一家靠谱的银行\n\n## 概述\n\n"
           "选择银行时，先看它的牌照和存款保险，再比较手续费、"
           "利率和服务网点。一家靠谱的银行会把费用写清楚，也不会催你购买看不懂的理财产品。"
           "最后，别忘了看看其他储户的口碑和投诉记录。\n\n## 总结\n\n慢慢比较。\n")
EN_BODY = ("# Index funds explained\n\nAn index fund follows a market index with low fees, "
           "so its returns track the market rather than a manager's picks. Before you buy one, "
           "compare the expense ratio, the tracking error and the size of the fund, and check "
           "how it is taxed where you live.\n\n## Costs\n\nLow.\n")


def _store(title: str, answer: str, language: str) -> Article:
    with session_scope() as session:
        batch = batches.create_batch(session, [title], "guide", language=language)
        item = state.claim_item(session, batch.items[0].id, "w/1", lease=60)
        assert item is not None
        generated = Generated(content=answer, provider="test", model="m1")
        state.complete_item(session, item, "guide", generated,
                            quality=service.Quality(language=language))
        article = session.query(Article).filter(Article.item_id == item.id).one()
        session.expunge(article)
        return article


def test_the_fields_from_the_front_matter_block_and_the_block_off_the_text(db):
    answer = ("---\nseo_title: Index funds, plainly\nmeta_description: What an index fund is "
              "and what to compare before buying one.\nslug: index-funds-explained\n"
              "excerpt: A short guide.\ntags: [investing, funds]\n---\n\n" + EN_BODY)
    article = _store("Index funds explained", answer, "en")
    assert article.content == EN_BODY
    assert (article.slug, article.seo_title, article.excerpt, article.tags) == (
        "index-funds-explained", "Index funds, plainly", "A short guide.", ["investing", "funds"])
    assert article.seo_flags == []
    with session_scope() as session:
        first = service.version(session, article.id, 1)
        assert (first.slug, first.tags) == ("index-funds-explained", ["investing", "funds"])
        assert not first.content.startswith("---")


def test_an_answer_without_the_block_still_gets_valid_fields_flagged(db):
    article = _store("Index funds explained", EN_BODY, "en")
    assert article.content == EN_BODY
    assert article.slug == "index-funds-explained"
    assert article.seo_title == "Index funds explained"
    assert 100 <= len(article.meta_description or "") <= 160
    assert article.meta_description.startswith("An index fund follows a market index")
    assert article.meta_description.endswith("…") and " " not in article.meta_description[-2:]
    assert article.tags == ["guide"]
    assert {flag["name"] for flag in article.seo_flags or []} == {
        "seo.slug", "seo.seo_title", "seo.meta_description", "seo.excerpt", "seo.tags"}


def test_invalid_values_are_derived_and_flagged_one_by_one(db):
    answer = ("---\nseo_title: Good title\nslug: Not A Slug!\ntags: nope\nmeta_description: "
              + "x" * 500 + "\n---\n" + EN_BODY)
    article = _store("Index funds explained", answer, "en")
    assert article.seo_title == "Good title"
    assert article.slug == "index-funds-explained"
    assert {flag["name"] for flag in article.seo_flags or []} == {
        "seo.slug", "seo.meta_description", "seo.excerpt", "seo.tags"}


def test_a_chinese_title_gets_an_ascii_pinyin_slug_unique_within_its_language(db):
    first = _store(ZH_TITLE, ZH_BODY, "zh-CN")
    assert first.slug == "ru-he-xuan-ze-yi-jia-kao-pu-de-yin-hang"  # 银行: yin-hang, in context
    assert first.slug.isascii()
    assert len(first.meta_description or "") <= 80
    assert first.meta_description.startswith("选择银行时")
    second = _store(ZH_TITLE, ZH_BODY, "zh-CN")
    third = _store(ZH_TITLE, ZH_BODY, "zh-CN")
    other_language = _store(ZH_TITLE, ZH_BODY, "zh-TW")
    assert (second.slug, third.slug) == (f"{first.slug}-2", f"{first.slug}-3")
    assert other_language.slug == first.slug


def test_the_fake_model_answers_with_and_without_the_block():
    prompt = build_messages(ArticleRequest(title="Tidal power", category="guide"))[1]["content"]
    assert "front-matter block" in prompt
    given, body = seo.split("".join(make_pieces(prompt, 4)))
    assert given["slug"] == "tidal-power" and body.startswith("# Tidal power")
    assert seo.split("".join(make_pieces(prompt, 4, front_matter=False)))[0] == {}


def test_cuts_keep_words_and_characters_whole():
    text = "word " * 60
    cut = seo.cut(text.strip(), 160, characters=False)
    assert len(cut) <= 160 and cut.endswith("word…")
    zh = "这是一个句子，" * 30
    cut = seo.cut(zh, 80, characters=True)  # cut at a clause mark: an ellipsis, no dangling ，
    assert len(cut) <= 80 and cut.endswith("句子…")
    cut = seo.cut("这是一个句子。" * 30, 80, characters=True)  # a sentence's end stays
    assert len(cut) <= 80 and cut.endswith("句子。")


def test_seo_fields_are_edited_as_a_version_and_a_taken_slug_is_409(db):
    taken = _store("Index funds explained", EN_BODY, "en")
    article = _store("Bonds explained", EN_BODY.replace("Index funds", "Bonds"), "en")
    with session_scope() as session:
        edited = service.edit(session, article.id, version=1, seo_fields={
            "slug": "bonds-guide", "meta_description": "Bonds, plainly.", "tags": ["bonds"]})
        assert (edited.version, edited.slug, edited.meta_description, edited.tags) == (
            2, "bonds-guide", "Bonds, plainly.", ["bonds"])
        flags = {flag["name"] for flag in edited.seo_flags or []}
        assert "seo.slug" not in flags and "seo.tags" not in flags and "seo.excerpt" in flags
        assert service.version(session, article.id, 2).slug == "bonds-guide"
        assert service.version(session, article.id, 1).slug == "bonds-explained"
    with pytest.raises(ArticleError) as err, session_scope() as session:
        service.edit(session, article.id, version=2, seo_fields={"slug": taken.slug})
    assert (err.value.status_code, err.value.field) == (409, "slug")
    for bad in ("Bonds Guide", "bonds--guide", "債券", "-bonds", "b" * 201):
        with pytest.raises(ArticleError) as err, session_scope() as session:
            service.edit(session, article.id, version=2, seo_fields={"slug": bad})
        assert (err.value.status_code, err.value.field) == (422, "slug")
    with pytest.raises(ArticleError) as err, session_scope() as session:
        service.edit(session, article.id, version=2, seo_fields={"tags": ["x" * 51]})
    assert (err.value.status_code, err.value.field) == (422, "tags")


def test_the_api_shows_and_edits_the_fields_and_the_zip_carries_them(api):
    article = _store(ZH_TITLE, ZH_BODY, "zh-CN")
    url = f"/api/articles/{article.id}"
    body = api.get(url).json()
    assert body["slug"] == article.slug and body["tags"] == ["guide"]
    assert {f["name"] for f in body["seo_flags"]} >= {"seo.slug"}
    changed = api.patch(url, json={"seo_title": "靠谱银行怎么选", "tags": ["银行", "储蓄"]},
                        headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["seo_title"], changed.json()["version"]) == ("靠谱银行怎么选", 2)
    bad = api.patch(url, json={"slug": "Not ok", "version": 2})
    assert bad.status_code == 422 and "slug" in bad.text
    schema = api.get("/openapi.json").json()["components"]["schemas"]["EditIn"]["properties"]
    assert schema["slug"]["anyOf"][0]["maxLength"] == 200
    archive = zipfile.ZipFile(io.BytesIO(api.get("/api/articles/export.zip").content))
    name = next(n for n in archive.namelist() if n.endswith(".md"))
    meta = yaml.safe_load(archive.read(name).decode().split("---\n")[1])
    assert (meta["slug"], meta["seo_title"], meta["tags"]) == (
        article.slug, "靠谱银行怎么选", ["银行", "储蓄"])


def test_two_writers_choosing_the_same_slug_at_once_get_two_slugs(db):
    """The unique index settles the race: the loser's UPDATE fails in its savepoint and it
    chooses again (on PostgreSQL it waits for the winner's commit first)."""
    _batch, ids = add_batch([{**EN_ARTICLE, "title": "Same title"},
                             {**EN_ARTICLE, "title": "Same title"}])
    barrier = threading.Barrier(2)
    chosen: list[str] = []
    fields = seo.SeoFields(slug="same-title", seo_title="Same title", meta_description="m",
                           excerpt="e", tags=[])

    def store(article_id: int) -> None:
        with session_scope() as session:
            barrier.wait()
            chosen.append(slugs.store(session, article_id, 1, "en", fields, []))

    threads = [threading.Thread(target=store, args=(article_id,)) for article_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(chosen) == ["same-title", "same-title-2"]


def test_a_block_with_yaml_aliases_is_refused_and_the_fields_derived():
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "slug: fine-slug\n---\n# Title\n\nText.\n"
    given, body = seo.split(bomb)
    assert given == {} and body == "# Title\n\nText.\n"
    plain = seo.split("---\nslug: fine-slug\nmeta_description: 'A & B *stars*'\n---\n# T\n")
    assert plain[0] == {"slug": "fine-slug", "meta_description": "A & B *stars*"}
