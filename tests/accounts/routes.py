"""The route table's declared permissions, for the walker and the role matrix tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_parameterless_sub_dependant
from fastapi.routing import APIRoute

from app.accounts.auth import declared_permission
from app.accounts.permissions import Permission


def declared(dependant: Dependant) -> list[Permission]:
    """Every permission declared anywhere in a dependency tree."""
    found = []
    for sub in dependant.dependencies:
        permission = declared_permission(sub.call)
        if permission is not None:
            found.append(permission)
        found.extend(declared(sub))
    return found


def walk(app: FastAPI) -> Iterator[tuple[str, set[str], Any, list[Permission]]]:
    """(path, methods, route, its declared permissions) for every route of the app, however
    routers are included (FastAPI keeps an included router as one entry; its include-time
    prefix and dependencies count). A mount or a bare Starlette route declares nothing."""

    def leaves(routes: list[Any], prefix: str, inherited: list[Permission]
               ) -> Iterator[tuple[str, set[str], Any, list[Permission]]]:
        for route in routes:
            context = getattr(route, "include_context", None)
            if context is not None:
                extra = [p for dep in context.dependencies
                         for p in declared(Dependant(dependencies=[
                             get_parameterless_sub_dependant(depends=dep, path="/")]))]
                yield from leaves(route.original_router.routes, prefix + (context.prefix or ""),
                                  inherited + extra)
            elif isinstance(route, APIRoute):
                yield (prefix + route.path, set(route.methods), route,
                       inherited + declared(route.dependant))
            else:
                path = prefix + getattr(route, "path", repr(route))
                yield path, set(getattr(route, "methods", None) or {"*"}), route, inherited

    yield from leaves(list(app.router.routes), "", [])


def undeclared(app: FastAPI) -> list[str]:
    """Routes with no declared permission, or more than one."""
    return [f"{sorted(methods)} {path}: {perms or 'none'}"
            for path, methods, _route, perms in walk(app) if len(perms) != 1]
