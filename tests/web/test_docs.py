"""/docs from the app's own files (swagger-ui-bundle), not a CDN."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.web.docs import ASSETS_DIR, mount_docs, openapi_3_0, swagger_ui_major


class Item(BaseModel):
    name: str
    note: str | None = None
    parent: Item | None = None


def tiny_app(**kwargs) -> FastAPI:
    app = FastAPI(title="Tiny", docs_url=None, **kwargs)

    @app.post("/api/items")
    def make(item: Item, limit: int | None = None) -> Item:
        return item

    mount_docs(app)
    return app


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_page_uses_only_local_assets_and_they_answer():
    client = TestClient(tiny_app())
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    urls = asset_urls(html)
    assert sorted(urls) == ["/docs/assets/favicon-32x32.png", "/docs/assets/swagger-ui-bundle.js",
                            "/docs/assets/swagger-ui.css"]
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content, url
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in js.headers["content-type"] and b"SwaggerUIBundle" in js.content
    assert "text/css" in client.get("/docs/assets/swagger-ui.css").headers["content-type"]
    assert client.get("/docs/assets/no-such-file.js").status_code == 404


def test_swagger_ui_4_gets_an_openapi_3_0_rendition_of_the_schema():
    assert swagger_ui_major(ASSETS_DIR) == 4  # swagger-ui-bundle 1.1.0: reads OpenAPI 3.0 only
    client = TestClient(tiny_app())
    assert "url: '/docs/openapi.json'" in client.get("/docs").text
    real = client.get("/openapi.json").json()
    shown = client.get("/docs/openapi.json").json()
    assert real["openapi"].startswith("3.1") and shown["openapi"] == "3.0.3"
    assert list(real["paths"]) == list(shown["paths"]) == ["/api/items"]  # docs not in the schema
    assert '{"type": "null"}' in json.dumps(real) and '"null"' not in json.dumps(shown)
    item = shown["components"]["schemas"]["Item-Input"]["properties"]
    assert item["note"]["type"] == "string" and item["note"]["nullable"] is True
    assert item["parent"] == {"anyOf": [{"$ref": "#/components/schemas/Item-Input"}],
                              "nullable": True}
    limit = shown["paths"]["/api/items"]["post"]["parameters"][0]["schema"]
    assert limit["type"] == "integer" and limit["nullable"] is True


def test_schema_examples_lists_become_one_example():
    schema = {"openapi": "3.1.0", "components": {"schemas": {"A": {
        "type": "string", "examples": ["x", "y"]}}},
        "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
            "examples": {"one": {"value": 1}}}}}}}}}}
    converted = openapi_3_0(schema)
    assert converted["components"]["schemas"]["A"] == {"type": "string", "example": "x"}
    media = converted["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media == {"examples": {"one": {"value": 1}}}  # a media type's examples map stays
    assert schema["openapi"] == "3.1.0"  # the input is not changed


def test_swagger_ui_5_reads_the_real_schema(tmp_path):
    (tmp_path / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = 1;")
    (tmp_path / "swagger-ui.css").write_text("body {}")
    app = FastAPI(docs_url=None)
    mount_docs(app, assets_dir=tmp_path)
    client = TestClient(app)
    html = client.get("/docs").text
    assert "url: '/openapi.json'" in html
    assert sorted(asset_urls(html)) == ["/docs/assets/swagger-ui-bundle.js",
                                        "/docs/assets/swagger-ui.css", "data:,"]
    assert client.get("/docs/openapi.json").status_code == 404
    assert client.get("/docs/assets/swagger-ui.css").text == "body {}"


def test_oauth2_redirect_answers():
    redirect = TestClient(tiny_app()).get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()


def test_docs_follow_a_custom_openapi_url_and_root_path():
    client = TestClient(tiny_app(openapi_url="/api/schema.json"), root_path="/ta")
    html = client.get("/docs").text
    assert "url: '/ta/docs/openapi.json'" in html
    assert all(u.startswith("/ta/docs/assets/") for u in asset_urls(html))
    assert client.get("/docs/openapi.json").json()["servers"] == [{"url": "/ta"}]


def test_docs_need_a_schema_and_the_assets(tmp_path):
    with pytest.raises(ValueError, match="openapi_url"):
        mount_docs(FastAPI(docs_url=None, openapi_url=None))
    with pytest.raises(RuntimeError, match="swagger-ui-bundle.js"):
        mount_docs(FastAPI(docs_url=None), assets_dir=tmp_path)


def test_the_service_serves_its_own_docs_from_local_files():
    from app.main import app

    client = TestClient(app)
    page = client.get("/docs")
    assert page.status_code == 200
    assert sorted(asset_urls(page.text)) == ["/docs/assets/favicon-32x32.png",
                                             "/docs/assets/swagger-ui-bundle.js",
                                             "/docs/assets/swagger-ui.css"]
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/docs/openapi.json").json()
    assert schema["openapi"] == "3.0.3"
    assert {"/api/articles", "/api/articles/export.zip", "/api/tasks/{task_id}/export.zip"} <= set(
        schema["paths"])
    assert client.get("/redoc").status_code == 404  # it would load from a CDN
