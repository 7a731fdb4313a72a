"""Swagger UI at `/docs` from the app itself: its JavaScript and CSS come from the
`swagger-ui-bundle` package, not a CDN, so the docs work on a network without internet access.

How to call it: build the app without FastAPI's own docs page, then mount this one::

    from app.web.docs import mount_docs

    app = FastAPI(title=..., docs_url=None)  # keep openapi_url (default "/openapi.json")
    ...include routers...
    mount_docs(app)

It adds `/docs` (the page, pointed at the app's `openapi_url`, honouring `root_path` behind a
proxy), `/docs/oauth2-redirect` (for Swagger UI's OAuth2 flows, at
`app.swagger_ui_oauth2_redirect_url`) and the static files at `/docs/assets/...`
(`swagger-ui-bundle.js`, `swagger-ui.css`, `favicon-32x32.png`, ...). None of them is in the
OpenAPI schema. `app.swagger_ui_parameters` and `app.swagger_ui_init_oauth` are used as FastAPI
uses them. The page carries Swagger UI's own inline start-up script, so it must not be served
with the editor page's Content-Security-Policy (`script-src 'self'`).

OpenAPI 3.1: swagger-ui-bundle 1.1.0 (its newest release) ships Swagger UI 4.15.5, which reads
OpenAPI 3.0 only and answers FastAPI's 3.1 schema with "Unable to render this definition". For a
Swagger UI older than 5 the page therefore loads `/docs/openapi.json`, a 3.0.3 rendition of the
app's schema (`anyOf [X, {type: null}]` becomes X with `nullable: true`, a schema's `examples`
list its first `example`); `/openapi.json` itself is unchanged. Pass `assets_dir=` a Swagger UI 5
distribution (e.g. the static folder of the `fastapi-offline` package) and the page reads
`/openapi.json` directly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.params import Depends
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(str(swagger_ui_path))
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def swagger_ui_major(assets_dir: Path) -> int:
    """The Swagger UI major version of a folder named like swagger-ui-bundle's
    (`swagger-ui-4.15.5`); 5 (reads OpenAPI 3.1) when the name does not say."""
    found = re.search(r"swagger-ui-(\d+)\.", assets_dir.name)
    return int(found.group(1)) if found else 5


def _schema_3_0(node: Any) -> Any:
    """A JSON Schema 2020-12 / OpenAPI 3.1 fragment as OpenAPI 3.0 says it (what FastAPI uses)."""
    if isinstance(node, list):
        return [_schema_3_0(item) for item in node]
    if not isinstance(node, dict):
        return node
    null = {"type": "null"}
    options = node.get("anyOf")
    options = options if isinstance(options, list) else []
    nullable = null in options
    out = {k: _schema_3_0(v) for k, v in node.items() if not (nullable and k == "anyOf")}
    if isinstance(out.get("examples"), list):  # a schema's examples (a media type's is a map)
        examples = out.pop("examples")
        if examples and "example" not in out:
            out["example"] = examples[0]
    if nullable:
        rest = [_schema_3_0(option) for option in options if option != null]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out = {**rest[0], **out}
        elif rest:
            out["anyOf"] = rest
        out["nullable"] = True
    elif out.get("type") == "null":
        del out["type"]
        out["nullable"] = True
    return out


def openapi_3_0(schema: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI 3.1 schema as OpenAPI 3.0.3, for Swagger UI 4."""
    converted: dict[str, Any] = _schema_3_0(schema)
    converted["openapi"] = "3.0.3"
    return converted


def mount_docs(
    app: FastAPI,
    path: str = DOCS_PATH,
    assets_path: str = ASSETS_PATH,
    assets_dir: Path | None = None,
    dependencies: list[Depends] | None = None,
) -> None:
    """Serve Swagger UI for `app` at `path`, with its assets (from `assets_dir`, by default the
    swagger-ui-bundle package's) at `assets_path`, all from this process. Every route it adds,
    and the app's own `openapi_url`, carries `dependencies` (the app declares them public)."""
    if app.openapi_url is None:
        raise ValueError("mount_docs needs the app's OpenAPI schema: openapi_url is None")
    folder = Path(assets_dir) if assets_dir is not None else ASSETS_DIR
    missing = [name for name in ASSET_FILES[:2] if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"no Swagger UI {missing} in {folder}")
    icons = [n for n in ("favicon-32x32.png", "favicon.png") if (folder / n).is_file()]
    favicon = icons[0] if icons else None
    openapi_url = app.openapi_url
    redirect_url = app.swagger_ui_oauth2_redirect_url or f"{path}/oauth2-redirect"
    if swagger_ui_major(folder) < 5:
        openapi_url = f"{path}/openapi.json"
        source = app.openapi

        async def openapi_for_swagger_ui(request: Request) -> JSONResponse:
            schema = source()
            if not str(schema.get("openapi", "")).startswith("3.0"):
                schema = openapi_3_0(schema)
            root = str(request.scope.get("root_path", "")).rstrip("/")
            servers = list(schema.get("servers") or [])
            if root and app.root_path_in_servers and root not in [s.get("url") for s in servers]:
                schema = {**schema, "servers": [{"url": root}, *servers]}  # as /openapi.json does
            return JSONResponse(schema)

        app.add_api_route(openapi_url, openapi_for_swagger_ui, methods=["GET"],
                          include_in_schema=False, dependencies=dependencies)
    _serve_openapi(app, dependencies)
    assets = {p.name for p in folder.iterdir() if p.is_file()}

    async def swagger_asset(name: str) -> FileResponse:
        if name not in assets:
            raise HTTPException(404, detail=f"path: no file {name!r}")
        return FileResponse(folder / name)

    app.add_api_route(assets_path + "/{name}", swagger_asset, methods=["GET", "HEAD"],
                      include_in_schema=False, dependencies=dependencies)

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{assets_path}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets_path}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets_path}/{favicon}" if favicon else "data:,",
            oauth2_redirect_url=root + redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route(path, swagger_ui, methods=["GET"], include_in_schema=False,
                      dependencies=dependencies)
    app.add_api_route(redirect_url, swagger_ui_redirect, methods=["GET"], include_in_schema=False,
                      dependencies=dependencies)


def _serve_openapi(app: FastAPI, dependencies: list[Depends] | None) -> None:
    """FastAPI's own `openapi_url` route again, as an API route carrying `dependencies` (so a
    walk of the route table finds its declared permission)."""
    path = app.openapi_url
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != path]

    async def openapi_json(request: Request) -> JSONResponse:
        schema = app.openapi()
        root = str(request.scope.get("root_path", "")).rstrip("/")
        servers = list(schema.get("servers") or [])
        if root and app.root_path_in_servers and root not in [s.get("url") for s in servers]:
            schema = {**schema, "servers": [{"url": root}, *servers]}
        return JSONResponse(schema)

    assert path is not None
    app.add_api_route(path, openapi_json, methods=["GET"], include_in_schema=False,
                      dependencies=dependencies)
