"""The article library: filters, sorting and full-text search (Chinese too) over the real
databases (SQLite always, PostgreSQL with TEST_POSTGRES_URL), and the schema that serves it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text

from app.articles.models import SEARCH_INDEXES
from app.batches.models import AIGenerationTask
from app.core.db import get_engine, session_scope
from app.core.models import utcnow
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch, set_article

WALLET = {"title": "比特币钱包安全指南", "content": "## 钱包\n\n冷钱包与热钱包的区别。\n",
          "language": "zh-TW"}


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


def found(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/api/articles", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["items"])
    return [a["title"] for a in body["items"]]


def test_the_search_objects_of_migration_0004_exist(db):
    with get_engine().connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(conn.scalars(text(
                "SELECT name FROM sqlite_master WHERE name LIKE 'articles_fts%'")))
            assert {"articles_fts", "articles_fts_insert", "articles_fts_update",
                    "articles_fts_delete"} <= names
            sql = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name='articles_fts'"))
            assert "trigram" in sql
        else:
            indexes = dict(conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'articles'")).all())
            assert set(indexes) >= SEARCH_INDEXES
            assert all("gin_trgm_ops" in indexes[name] for name in SEARCH_INDEXES)


@pytest.mark.parametrize(("q", "expected"), [
    ("比特币", {ZH_ARTICLE["title"], WALLET["title"]}),  # 3 characters: the trigram index
    ("钱包", {ZH_ARTICLE["title"], WALLET["title"]}),  # 2 characters: LIKE
    ("费", {ZH_ARTICLE["title"]}),  # 1 character
    ("加密货币交易所", {ZH_ARTICLE["title"]}),  # only in the title
    ("冷钱包 区别", {WALLET["title"]}),  # every word must appear
    ("比特币 牌照", {ZH_ARTICLE["title"]}),
    ("INDEX FUNDS", {EN_ARTICLE["title"]}),  # any case
    ('"index fund follows"', {EN_ARTICLE["title"]}),  # a phrase
    ('"fund follows index"', set()),
    ("股票", set()),
    ("100%", {EN_ARTICLE["title"]}),  # LIKE wildcards are literal
    ("0%", {EN_ARTICLE["title"]}),
    ("%", {EN_ARTICLE["title"]}),
    ("_", {EN_ARTICLE["title"]}),
    ("d_is", {EN_ARTICLE["title"]}),
    ("x_y", set()),
    ("n_ex", set()),  # "_" unescaped would match "ndex"
    ("d%is", set()),
    ('he said "buy', set()),  # FTS5 syntax is only ever data
    ("NEAR(a b) OR *", set()),
    ("\\", set()),
])
def test_search_finds_words_in_titles_and_content(client, q, expected):
    add_batch([ZH_ARTICLE, EN_ARTICLE, WALLET])
    assert set(found(client, q=q)) == expected


def test_search_follows_edits_and_deletions(client):
    task_id, (zh_id, en_id) = add_batch([ZH_ARTICLE, EN_ARTICLE])
    assert found(client, q="交易所") == [ZH_ARTICLE["title"]]
    set_article(en_id, content="现在讲交易所。", title="Exchanges")
    assert set(found(client, q="交易所")) == {ZH_ARTICLE["title"], "Exchanges"}
    assert found(client, q="index fund") == []
    set_article(zh_id, title="无关标题", content="无关内容")
    assert found(client, q="交易所") == ["Exchanges"]
    with session_scope() as session:  # the batch's articles go by ON DELETE CASCADE
        session.execute(delete(AIGenerationTask).where(AIGenerationTask.id == task_id))
    assert found(client, q="交易所") == [] and found(client, q="无关") == []
    add_batch([ZH_ARTICLE])  # a new row may reuse an old id: no ghost of the old one
    assert found(client, q="交易所") == [ZH_ARTICLE["title"]]
    assert found(client, q="无关内容") == [] and found(client, q="现在讲") == []


def test_filters_combine_and_every_one_holds(client):
    now = utcnow()
    old_task, (old_zh,) = add_batch([ZH_ARTICLE], category="news",
                                    created_at=now - timedelta(days=10))
    task, (zh_id, en_id, tw_id) = add_batch([ZH_ARTICLE, EN_ARTICLE, WALLET], category="guide")
    set_article(en_id, status="approved")
    set_article(tw_id, status="published")
    all_titles = found(client)
    assert len(all_titles) == 4
    assert found(client, category="news") == [ZH_ARTICLE["title"]]
    assert found(client, status="approved") == [EN_ARTICLE["title"]]
    assert found(client, status="draft", category="guide") == [ZH_ARTICLE["title"]]
    assert sorted(found(client, language="zh")) == sorted(
        [ZH_ARTICLE["title"], ZH_ARTICLE["title"], WALLET["title"]])
    assert found(client, language="zh-tw") == [WALLET["title"]]
    assert len(found(client, task_id=task)) == 3 and len(found(client, task_id=old_task)) == 1
    since = (now - timedelta(days=1)).isoformat()
    assert len(found(client, since=since)) == 3
    assert found(client, until=since) == [ZH_ARTICLE["title"]]
    naive = (now - timedelta(days=11)).replace(tzinfo=None).isoformat()  # taken as UTC
    assert len(found(client, since=naive, until=since)) == 1
    in_utc_plus_8 = (now + timedelta(hours=8) - timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%S+08:00")
    assert len(found(client, since=in_utc_plus_8)) == 3
    assert found(client, q="钱包", status="published", language="zh-TW", task_id=task,
                 category="guide", since=since) == [WALLET["title"]]
    assert found(client, q="钱包", status="approved") == []
    assert found(client, q="  ") == all_titles  # an empty search = not given
    assert found(client, since=since, until=since) == []  # an empty range matches nothing


def test_sorting_and_pages(client):
    _, ids = add_batch([{"title": t, "content": "x"} for t in ("beta", "Alpha", "gamma")])
    assert found(client) == ["gamma", "Alpha", "beta"]  # newest first
    assert found(client, order="asc") == ["beta", "Alpha", "gamma"]
    assert found(client, sort="title", order="asc") == ["Alpha", "beta", "gamma"]
    assert found(client, sort="title", order="desc") == ["gamma", "beta", "Alpha"]
    set_article(ids[0], updated_at=utcnow() + timedelta(minutes=5))
    assert found(client, sort="updated_at") == ["beta", "gamma", "Alpha"]
    page = client.get("/api/articles", params={"sort": "title", "limit": 2, "offset": 1,
                                               "order": "asc"}).json()
    assert [a["title"] for a in page["items"]] == ["beta", "gamma"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "lost"}, "status"),
    ({"sort": "content"}, "sort"),
    ({"order": "up"}, "order"),
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"offset": -1}, "offset"),
    ({"category": "../etc"}, "category"),
    ({"language": "zh_CN"}, "language"),
    ({"task_id": "x" * 65}, "task_id"),
    ({"since": "yesterday"}, "since"),
    ({"q": "x" * 201}, "q"),
    ({"q": " ".join("abcdefghi")}, "q"),  # nine terms
    ({"category": ""}, "category"),  # given, so it must be valid (the page leaves it out)
    ({"until": "0.5"}, "until"),  # seconds are not an ISO 8601 time
    ({"since": "0001-01-01T00:00:00+01:00"}, "since"),  # before year 1 in UTC: was a 500
    ({"until": "9999-12-31T23:59:59-01:00"}, "until"),  # after year 9999 in UTC: was a 500
    ({"q": "abc\x00def"}, "q"),  # a NUL was a 500: FTS5 "unterminated string", PostgreSQL
    ({"q": "\x00"}, "q"),  # refuses it in text; and SQLite's LIKE stopped there (all rows)
    ({"q": "比特币\x07"}, "q"),  # no control characters (tabs and line breaks separate words)
])
def test_bad_filters_are_refused_naming_the_field(client, params, field):
    for path in ("/api/articles", "/api/articles/export.zip"):
        if path.endswith(".zip") and field in ("limit", "offset"):
            continue
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"].startswith(f"{field}: "), response.json()


def test_every_library_parameter_is_bounded_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    for path in ("/api/articles", "/api/articles/export.zip"):
        params = {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}
        expected = {"category", "status", "language", "task_id", "since", "until", "q", "sort",
                    "order"} | ({"limit", "offset"} if path == "/api/articles" else set())
        assert set(params) == expected
        for name, param in params.items():
            options = param.get("anyOf", [param])
            bounded = [o for o in options if o.get("type") != "null"]
            assert bounded and all(
                "maxLength" in o or "enum" in o or "$ref" in o or "maximum" in o
                or o.get("format") == "date-time" for o in bounded), (name, param)


def test_the_editor_preview_renders_markdown_and_escapes_html(client):
    response = client.post("/api/articles/preview", json={
        "content": "## 新的小节\n\n<script>alert(1)</script> **bold**"})
    assert response.status_code == 200
    assert "<h2>新的小节</h2>" in response.text and "<strong>bold</strong>" in response.text
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert response.headers["content-security-policy"] == "default-src 'none'"
    too_long = client.post("/api/articles/preview", json={"content": "x" * 500_001})
    assert too_long.status_code in (413, 422)
