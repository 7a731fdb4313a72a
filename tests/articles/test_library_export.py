"""ZIP exports of the library and of a batch, streamed from the real databases."""

from __future__ import annotations

import csv
import gc
import io
import random
import tracemalloc
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from fastapi.testclient import TestClient

from app.articles import library, repository
from app.articles.repository import BATCH_ORDER, ArticleQuery
from app.core.db import session_scope
from app.core.models import utcnow
from tests.support.articles import EN_ARTICLE, ZH_ARTICLE, add_batch, set_article


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n")
    meta, sep, body = text[4:].partition("\n---\n")
    assert sep
    return yaml.safe_load(meta), body


def disposition_name(header: str) -> str:
    return unquote(header.split("filename*=UTF-8''", 1)[1])


def test_library_export_is_a_zip_of_the_filtered_articles_with_yaml_front_matter(client):
    task, (zh_id, en_id) = add_batch([ZH_ARTICLE, EN_ARTICLE])
    set_article(zh_id, status="approved", version=3, cost_usd=0.0042,
                updated_at=utcnow())
    response = client.get("/api/articles/export.zip", params={"q": "比特币"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "content-length" not in response.headers  # streamed
    name = disposition_name(response.headers["content-disposition"])
    assert name.startswith("articles-比特币-") and name.endswith(".zip")
    assert 'filename="articles-bi-te-bi-' in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == [f"{ZH_ARTICLE['title']}.md", "manifest.csv"]
    meta, body = front_matter(archive.read(archive.namelist()[0]).decode())
    assert meta["title"] == ZH_ARTICLE["title"] and meta["id"] == zh_id
    assert (meta["status"], meta["version"], meta["language"]) == ("approved", 3, "zh-CN")
    assert meta["category"] == "guide" and meta["task_id"] == task
    assert meta["tokens"] == {"prompt": 10, "completion": 90, "total": 100}
    assert meta["cost_usd"] == 0.0042 and meta["created_at"].tzinfo is not None
    assert meta["updated_at"] >= meta["created_at"]
    assert body == "\n" + ZH_ARTICLE["content"]
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [(r["file"], r["status"], r["id"]) for r in manifest] == [
        (f"{ZH_ARTICLE['title']}.md", "approved", str(zh_id))]

    everything = zipfile.ZipFile(io.BytesIO(client.get("/api/articles/export.zip").content))
    assert len(everything.namelist()) == 3
    nothing = zipfile.ZipFile(io.BytesIO(client.get(
        "/api/articles/export.zip", params={"status": "published"}).content))
    assert nothing.namelist() == ["manifest.csv"]


def test_batch_export_keeps_the_batch_order_and_answers_404_for_unknown_ids(client):
    task, _ = add_batch([{"title": t, "content": f"# {t}\n"} for t in ("Zeta", "alpha", "Mu")],
                        category="news")
    add_batch([EN_ARTICLE])  # another batch's article stays out
    response = client.get(f"/api/tasks/{task}/export.zip")
    assert response.status_code == 200
    name = disposition_name(response.headers["content-disposition"])
    assert name == f"news-{utcnow().date().isoformat()}-{task[:8]}.zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["01-zeta.md", "02-alpha.md", "03-mu.md", "manifest.csv"]
    assert client.get("/api/tasks/0123456789abcdef/export.zip").status_code == 404


def _article(rng: random.Random, i: int, words: list[str]) -> dict[str, Any]:
    body = " ".join(rng.choice(words) for _ in range(6000))  # ~40 KB of UTF-8
    return {"title": f"导出测试 {i} export", "content": f"# 导出测试 {i}\n\n{body}\n",
            "language": "zh-CN"}


def test_an_export_of_500_articles_streams_without_loading_them_all(db, tmp_path):
    rng = random.Random(11)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(2000)] + list("比特币钱包安全指南如何选择一家靠谱的加密货币交易所")
    task, ids = add_batch([_article(rng, i, words) for i in range(500)])
    query = ArticleQuery(task_id=task, sort=BATCH_ORDER, order="asc")
    with session_scope(read_only=True) as session:
        content_bytes = sum(len(r["content"].encode()) for r in
                            repository.export_rows(session, query))
    assert content_bytes > 15_000_000

    def peak(work: Any) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            work()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    out = tmp_path / "export.zip"

    def stream() -> None:
        with open(out, "wb") as handle:
            for chunk in library.export_zip(query):
                handle.write(chunk)

    def load_all() -> None:  # what the export must not do
        with session_scope(read_only=True) as session:
            rows = list(repository.export_rows(session, query))
            assert len(rows) == 500

    streamed, loaded = peak(stream), peak(load_all)
    assert loaded > content_bytes  # the measure sees every row held at once
    assert streamed < content_bytes / 3, (streamed, content_bytes)

    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    assert len(names) == 501 and names[0] == "001-导出测试-0-export.md"
    assert names[-1] == "manifest.csv" and len(set(names)) == 501
    for index in (0, 250, 499):
        meta, body = front_matter(archive.read(names[index]).decode())
        assert meta["id"] == ids[index] and meta["title"] == f"导出测试 {index} export"
        assert body.startswith(f"\n# 导出测试 {index}\n")
    manifest = archive.read("manifest.csv").decode("utf-8-sig").splitlines()
    assert len(manifest) == 501
