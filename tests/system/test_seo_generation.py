"""SEO fields written with the article in one call, through real workers and the fake
OpenAI-compatible server: its front-matter block becomes the fields (and leaves the text); a
model that ignores the instruction still gives valid fields, derived and flagged."""

from __future__ import annotations

from tests.support.api_helpers import submit, wait_final

TITLES = ["Index funds explained", "如何选择一家靠谱的银行"]


def _articles(api, task_id: str) -> dict[str, dict]:
    items = api.get("/api/articles", params={"task_id": task_id}).json()["items"]
    return {article["title"]: article for article in items}


def test_the_block_becomes_the_fields_or_they_are_derived(api, start_worker, fake_llm,
                                                         llm_env):
    start_worker(concurrency=2, **llm_env)
    batch = submit(api, TITLES)
    assert wait_final(api, batch["task_id"])["status"] == "completed"
    given = _articles(api, batch["task_id"])
    en, zh = given[TITLES[0]], given[TITLES[1]]
    assert fake_llm.count() == 2  # one call per article: the fields came with it
    assert en["slug"] == "index-funds-explained" and en["tags"] == ["guide", "fake"]
    assert not en["content"].startswith("---") and en["content"].startswith("# Index funds")
    assert en["seo_flags"] == [] and en["quality_flags"] == []
    # The fake writes no slug for a title without ASCII words: pinyin, flagged.
    assert zh["slug"] == "ru-he-xuan-ze-yi-jia-kao-pu-de-yin-hang"
    assert [flag["name"] for flag in zh["seo_flags"]] == ["seo.slug"]

    fake_llm.front_matter = False  # a model that ignores the instruction
    again = submit(api, TITLES)
    assert wait_final(api, again["task_id"])["status"] == "completed"
    derived = _articles(api, again["task_id"])
    en2, zh2 = derived[TITLES[0]], derived[TITLES[1]]
    assert en2["slug"] == "index-funds-explained-2"  # unique within English
    assert zh2["slug"] == "ru-he-xuan-ze-yi-jia-kao-pu-de-yin-hang-2"
    for article in (en2, zh2):
        assert {flag["name"] for flag in article["seo_flags"]} == {
            "seo.slug", "seo.seo_title", "seo.meta_description", "seo.excerpt", "seo.tags"}
        assert article["meta_description"] and article["excerpt"] and article["seo_title"]
        assert article["quality_flags"] == []
    assert len(zh2["meta_description"]) <= 80 and len(en2["meta_description"]) <= 160
