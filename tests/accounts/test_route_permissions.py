"""Every route of the app declares exactly one permission next to it (app.accounts.auth.allow)."""

from __future__ import annotations

from fastapi import FastAPI

from app.accounts.auth import allow
from app.accounts.permissions import Permission
from app.main import app
from tests.accounts.routes import undeclared, walk


def test_every_route_of_the_app_declares_one_permission() -> None:
    assert undeclared(app) == []


def test_the_walker_catches_a_route_without_a_declared_permission() -> None:
    throwaway = FastAPI()

    @throwaway.get("/declared", dependencies=[allow(Permission.READ)])
    def declared_route() -> None: ...

    @throwaway.post("/forgotten")
    def forgotten() -> None: ...

    @throwaway.post("/twice", dependencies=[allow(Permission.READ), allow(Permission.ADMIN)])
    def twice() -> None: ...

    problems = undeclared(throwaway)
    assert any("/forgotten" in p for p in problems)
    assert any("/twice" in p for p in problems)
    assert not any("/declared" in p for p in problems)


def test_the_public_routes_are_the_ones_meant_to_be() -> None:
    public = {path for path, _m, _r, perms in walk(app) if perms == [Permission.PUBLIC]}
    assert {"/", "/api/health/live", "/api/health/ready", "/api/login", "/openapi.json",
            "/docs"} <= public
    assert not any(p.startswith(("/api/tasks", "/api/articles", "/api/users", "/api/tokens",
                                 "/api/profiles", "/api/schedules")) for p in public)
    ops = {path for path, _m, _r, perms in walk(app) if perms == [Permission.OPS]}
    assert ops == {"/api/health", "/metrics"}
