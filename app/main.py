"""The ASGI app: `uvicorn app.main:app`."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app import celery_app as _celery_app  # noqa: F401  (binds the app the outbox sends with)
from app.accounts import endpoints as accounts
from app.accounts.auth import allow
from app.accounts.hosts import AllowedHosts
from app.accounts.permissions import Permission
from app.articles import endpoints as articles
from app.articles import library_endpoints as library
from app.audit import endpoints as audit
from app.audit.middleware import AuditTrail
from app.batches.api import article_endpoints as article_work
from app.batches.api import endpoints as batches
from app.batches.api import exports
from app.batches.api import limit_endpoints as submit_limits
from app.batches.validation import warm_up_detector
from app.config import get_settings
from app.content import endpoints as content
from app.core import openapi
from app.core.errors import DomainError
from app.core.exposure import require_safe_exposure
from app.core.limits import BodySizeLimit
from app.core.logs import configure_logging
from app.core.sentry import init_sentry
from app.ops import endpoints as ops
from app.ops.http_metrics import HttpMetrics
from app.profiles import endpoints as profiles
from app.publishing import endpoints as publishing
from app.schedules import endpoints as schedules
from app.web import pages
from app.web.docs import mount_docs
from app.webhooks import endpoints as webhooks


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    name = ""
    for part in parts:
        name += f"[{part}]" if part.isdigit() and name else (f".{part}" if name else part)
    return name or "body"


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        field = _field(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            field, msg = "body", f"not valid JSON ({err.get('ctx', {}).get('error', msg)})"
        errors.append({"field": field, "message": msg})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def _server_error(_request: Request, _exc: Exception) -> JSONResponse:
    """A bug, in the same shape (Starlette still logs the traceback and re-raises it)."""
    return JSONResponse(_error_body(500, "server: internal error, see the server's log"),
                        status_code=500)


async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    """Every domain's error type, in the one shape clients know."""
    return JSONResponse(exc.as_body(), status_code=exc.status_code, headers=exc.headers)


# The field an HTTP error is about when its detail does not say ("field: message").
_HTTP_FIELDS = {401: "authorization", 404: "path", 405: "method", 413: "body"}


def _error_body(status_code: int, detail: object) -> dict[str, object]:
    text = str(detail)
    field, sep, message = text.partition(": ")
    if not sep or not field or " " in field:
        field, message = _HTTP_FIELDS.get(status_code, "request"), text
    return {"detail": f"{field}: {message}", "errors": [{"field": field, "message": message}]}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed(request: Request) -> str:
    """Every method the path answers, over all its routes (Starlette's 405 names only those of
    the first route that matched the path)."""
    routes = request.app.router.routes
    return ", ".join(
        method for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
               for route in routes)
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Every HTTP error in the API's one shape `{"detail", "errors": [{field, message}]}`.

    FastAPI answers a body json.loads() cannot even decode (not UTF-8, nested too deeply)
    with a bare 400 "There was an error parsing the body": name the field and the reason."""
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, ValueError | RecursionError):
        limit = sys.get_int_max_str_digits()
        if isinstance(cause, UnicodeDecodeError):
            message = "not valid JSON: it must be UTF-8 encoded"
        elif limit and f"({limit} digits)" in str(cause):  # valid JSON, but no int reads it
            message = f"a number in it has more than {limit} digits"
        else:
            message = f"not valid JSON ({type(cause).__name__})"
        errors = [{"field": "body", "message": message}]
        return JSONResponse({"detail": f"body: {message}", "errors": errors}, status_code=422)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request) or headers.get("Allow", "")
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse(_error_body(exc.status_code, exc.detail), status_code=exc.status_code,
                        headers=headers)


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    warm_up_detector()  # before the first request: "auto" batches resolve titles at submit
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging()
    require_safe_exposure(settings)  # before anything listens (app/core/exposure.py)
    init_sentry("api")
    app = FastAPI(
        title="TrustAgency article generation",
        version="0.1.0",
        description="Submit titles, follow progress, read the articles written by Celery workers.",
        docs_url=None,  # mount_docs serves Swagger UI from local files below
        redoc_url=None,  # ReDoc would load from a CDN
        lifespan=_lifespan,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)
    app.include_router(accounts.router)
    app.include_router(batches.router)
    app.include_router(exports.router)
    app.include_router(library.router)  # before articles: /export.zip is not an article id
    app.include_router(articles.router)
    app.include_router(article_work.router)
    app.include_router(profiles.router)
    app.include_router(schedules.router)
    app.include_router(webhooks.router)
    app.include_router(publishing.router)
    app.include_router(ops.router)
    app.include_router(audit.router)
    app.include_router(submit_limits.router)
    app.include_router(content.router)
    app.include_router(pages.router)
    mount_docs(app, dependencies=[allow(Permission.PUBLIC)])
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AuditTrail)  # outside the limit: a refused 413 is recorded too
    app.add_middleware(AllowedHosts)  # DNS rebinding: an unknown Host gets 400
    app.add_middleware(HttpMetrics)  # outermost: counts every answer, the ones above too
    openapi.install(app)
    return app


app = create_app()
# What is built by now (modules, routes, schemas) lives as long as the process: freeze it out of
# the cyclic collector. Full collections that rescanned it paused every request for 70-130 ms
# under load; with it frozen the API's p99 fell from ~160 ms to ~10 ms (bench/RESULTS.md).
gc.collect()
gc.freeze()
