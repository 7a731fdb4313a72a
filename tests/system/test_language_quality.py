"""Language, category profiles and quality checks with real workers, through the fake
OpenAI-compatible server (and the offline writer): issue 13's "done when"."""

from __future__ import annotations

from urllib.parse import unquote

from app.llm.base import ArticleRequest
from app.llm.language import detect_language
from app.llm.offline import draft
from tests.support.api_helpers import wait_final
from tests.support.fake_openai import Behavior

CHINESE_TITLES = ["如何选择一家靠谱的加密货币交易所", "什么是 ETF？新手投资入门",
                  "比特币钱包安全指南 🔐", "2026 年最值得关注的十个理财趋势"]


def _submit(api, titles: list[str], category: str = "guide", **body: str) -> dict:
    response = api.post("/api/tasks/generate-articles",
                        json={"titles": titles, "category": category, **body})
    assert response.status_code == 202, response.text
    return response.json()


def _articles(api, task_id: str) -> dict[str, dict]:
    items = api.get("/api/articles", params={"task_id": task_id}).json()["items"]
    return {a["title"]: a for a in items}


def _chinese(text: str) -> bool:
    han = sum("\u4e00" <= c <= "\u9fff" for c in text)
    return detect_language(text) == "zh-CN" and han > len(text) / 2


def test_chinese_titles_give_chinese_articles_offline(api, start_worker):
    start_worker(concurrency=2)
    batch = _submit(api, CHINESE_TITLES)  # no language: ARTICLE_LANGUAGE=auto
    assert batch["language"] == "auto"
    status = wait_final(api, batch["task_id"])
    assert status["status"] == "completed" and status["needs_review"] == 0
    assert [i["language"] for i in status["items"]] == ["zh-CN"] * 4
    articles = _articles(api, batch["task_id"])
    assert set(articles) == set(CHINESE_TITLES)
    for title, article in articles.items():
        assert article["language"] == "zh-CN" and article["status"] == "draft"
        assert article["content"].startswith(f"# {title}") and _chinese(article["content"])
        download = api.get(f"/api/articles/{article['id']}/markdown")
        disposition = download.headers["content-disposition"]
        name = unquote(disposition.split("filename*=UTF-8''", 1)[1])
        assert name.endswith(".md") and name.removesuffix(".md").split("-")[0] in title.lower()
        assert disposition.split('filename="', 1)[1].split('"')[0].isascii()
    assert unquote(api.get(f"/api/articles/{articles[CHINESE_TITLES[1]]['id']}/markdown")
                   .headers["content-disposition"]).endswith("什么是-etf-新手投资入门.md")


def test_chinese_titles_through_the_test_server(api, start_worker, fake_llm, llm_env):
    start_worker(concurrency=2, **llm_env)
    batch = _submit(api, CHINESE_TITLES, language="zh_cn")
    assert batch["language"] == "zh-CN"
    status = wait_final(api, batch["task_id"])
    assert status["status"] == "completed"
    assert all(i["attempts"] == 1 for i in status["items"])
    prompts = [r.text for r in fake_llm.requests]
    assert len(prompts) == 4
    assert all("Language: write the article in Simplified Chinese (zh-CN)." in p
               for p in prompts)
    assert all("characters" in p.split("Length:", 1)[1].split("\n", 1)[0] for p in prompts)
    for article in _articles(api, batch["task_id"]).values():
        assert article["language"] == "zh-CN" and _chinese(article["content"])


def test_a_review_profile_changes_prompt_length_and_model(api, start_worker, fake_llm,
                                                          llm_env):
    start_worker(concurrency=2, **llm_env)
    profile = api.patch("/api/profiles/review", json={
        "instructions": "Reviews for the MARKER-42 desk: end with a score out of 10.",
        "min_words": 300, "max_words": 450, "model": "review-model", "temperature": 0.2})
    assert profile.status_code == 200, profile.text
    assert (profile.json()["version"], profile.json()["builtin"]) == (1, False)
    review = _submit(api, ["Broker X reviewed"], "review", language="en")
    guide = _submit(api, ["How to open a broker account"], "guide", language="en")
    wait_final(api, review["task_id"])
    wait_final(api, guide["task_id"])
    seen = {("reviewed" in r.text): r for r in fake_llm.requests}
    assert seen[True].model == "review-model" and seen[True].params["temperature"] == 0.2
    assert "MARKER-42" in seen[True].text
    assert "Length: between 300 and 450 words." in seen[True].text
    assert seen[False].model == "test-model" and "MARKER-42" not in seen[False].text
    assert "Length: between 700 and 1,500 words." in seen[False].text
    article = next(iter(_articles(api, review["task_id"]).values()))
    assert (article["model"], article["profile_id"], article["profile_version"]) == (
        "review-model", profile.json()["id"], 1)
    words = len(article["content"].split())
    assert 300 <= words <= 600 and article["status"] == "draft"


def _english(title: str, words: int = 800) -> str:
    return draft(ArticleRequest(title=title, category="guide", language="en",
                                min_length=words, max_length=words + 400))


REFUSAL = "As an AI language model, I can't browse the web, but here is a general overview.\n\n"
SHORT = "# {t}\n\nToo short.\n\n## One\n\nA line.\n\n## Two\n\nA line.\n\n## Three\n\nEnd."


def test_each_failed_check_regenerates_once_with_the_reason(api, start_worker, fake_llm,
                                                            llm_env):
    start_worker(concurrency=4, **llm_env)
    first = _submit(api, ["The original savings article"], language="en")
    wait_final(api, first["task_id"])
    original = next(iter(_articles(api, first["task_id"]).values()))

    bad = {
        "refusal": lambda t: REFUSAL + _english(t),
        "length": lambda t: SHORT.format(t=t),
        "language": lambda t: draft(ArticleRequest(title=t, category="guide",
                                                   language="zh-CN")),
        "duplicate": lambda t: original["content"],
    }
    reasons = {"refusal": "refusal or boilerplate", "length": "too short",
               "language": "wrong language", "duplicate": "near-duplicate of article"}
    titles = []
    for check, answer in bad.items():
        for times in (1, 2):  # once: the second answer passes; twice: kept for review
            title = f"Savings check {check} x{times}"
            titles.append(title)
            fake_llm.add_rule(title, [Behavior("text", text=answer(title))] * times)
    titles.append("Savings cut at the limit")
    fake_llm.add_rule("Savings cut at the limit", [Behavior("length")])
    batch = _submit(api, titles, language="en")
    status = wait_final(api, batch["task_id"], timeout=120)
    assert status["status"] == "completed", status
    assert (status["regenerated"], status["needs_review"]) == (8, 5)
    progress = api.get(f"/api/tasks/{batch['task_id']}/progress").json()
    assert (progress["regenerated"], progress["needs_review"]) == (8, 5)
    items = {i["title"]: i for i in status["items"]}
    articles = _articles(api, batch["task_id"])
    for check in bad:
        for times in (1, 2):
            title = f"Savings check {check} x{times}"
            assert (items[title]["attempts"], items[title]["regenerations"]) == (2, 1), title
            prompts = [r.text for r in fake_llm.requests if title in r.text]
            assert len(prompts) == 2 and "rejected by the site's quality checks" in prompts[1]
            assert reasons[check] in prompts[1] and reasons[check] not in prompts[0]
            article = articles[title]
            flags = {f["name"] for f in article["quality_flags"]}
            if times == 1:
                assert (article["status"], flags) == ("draft", set()), (title, flags)
            else:
                assert article["status"] == "needs_review" and check in flags, (title, flags)
    cut = articles["Savings cut at the limit"]
    assert cut["status"] == "needs_review" and "truncated" in {
        f["name"] for f in cut["quality_flags"]}
    assert items["Savings cut at the limit"]["attempts"] == 1
