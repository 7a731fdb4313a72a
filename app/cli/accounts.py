"""`trustagency login|logout|whoami`, `trustagency users list|create|update|disable` and
`trustagency tokens list|create|revoke` (POST /api/login, /api/me, /api/users, /api/tokens).
Registered by app.cli.main; `out` is its Output."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from collections.abc import Callable
from typing import Any

import httpx
from rich.table import Table

from app.cli import credentials_file, groups
from app.cli.client import EXIT_AUTH, EXIT_INPUT, EXIT_OK, Api, CliError

ROLES = ("viewer", "editor", "reviewer", "admin")


def cmd_login(api: Api, out: Any, args: argparse.Namespace) -> int:
    """With --token: keep that token. Otherwise sign in with a name and password (a session
    used once) and create a personal token for this machine, kept 0600."""
    token = args.login_token
    if not token:
        name = args.name or input("name: ").strip()
        password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                    else getpass.getpass("password: "))
        session = httpx.Client(base_url=api.url, timeout=api.http.timeout)
        try:
            login = session.post("/api/login", json={"name": name, "password": password})
            if login.status_code == 401:
                raise CliError("login refused: wrong name or password", EXIT_AUTH)
            api.check(login)
            # The session cookie is same-origin by construction here (no browser).
            made = session.post("/api/tokens", json={
                "name": f"CLI on {socket.gethostname()}"[:100],
                "expires_in_days": args.days})
            api.check(made)
            session.post("/api/logout")
        except httpx.HTTPError as exc:
            raise api.unreachable(exc) from None
        finally:
            session.close()
        token = made.json()["token"]
    me = Api(api.url, token)
    try:
        who = me.request("GET", "/api/me")
    finally:
        me.http.close()
    where = credentials_file.save({"api_url": api.url, "name": who["name"], "token": token})
    out.result({"name": who["name"], "role": who["role"], "stored": str(where)},
               lambda: out.out.print(f"Logged in as {who['name']} ({who['role']}); the token "
                                     f"is kept in {where} (0600)."))
    return EXIT_OK


def cmd_logout(api: Api, out: Any, args: argparse.Namespace) -> int:
    """Revoke the stored token on the server and forget it here."""
    stored = credentials_file.stored_token()
    if stored:
        mine = Api(api.url, stored)
        try:
            tokens = mine.request("GET", "/api/tokens")["items"]
            for token in tokens:
                if stored.startswith(token["prefix"]) and token["live"]:
                    mine.request("DELETE", f"/api/tokens/{token['id']}")
        except CliError:
            pass  # revoked or expired already: forgetting it is all that is left
        finally:
            mine.http.close()
    forgot = credentials_file.forget()
    out.result({"logged_out": forgot}, lambda: out.out.print(
        "Logged out." if forgot else "No stored login."))
    return EXIT_OK


def cmd_whoami(api: Api, out: Any, args: argparse.Namespace) -> int:
    me = api.request("GET", "/api/me")
    out.result(me, lambda: out.out.print(
        f"{me['name']}" + (f" ({me['display_name']})" if me.get("display_name") else "")
        + f" · {me['role']} · via {me['via']}"
        + (f" {me['token_prefix']}…" if me.get("token_prefix") else "")))
    return EXIT_OK


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def cmd_users_list(api: Api, out: Any, args: argparse.Namespace) -> int:
    data = api.request("GET", "/api/users", params={"limit": 500})
    rows = [[u["name"], u["display_name"] or "", u["role"], "disabled" if u["disabled"] else "",
             "yes" if u["has_password"] else "tokens only"] for u in data["items"]]
    out.result(data, lambda: out.out.print(_table(
        f"{data['total']} user(s)", ["name", "display name", "role", "state", "password"], rows)))
    return EXIT_OK


def _password(args: argparse.Namespace) -> str | None:
    if not args.password:
        return None
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the two passwords differ", EXIT_INPUT)
    return first


def cmd_users_create(api: Api, out: Any, args: argparse.Namespace) -> int:
    body = {"name": args.name, "role": args.role, "display_name": args.display_name,
            "password": _password(args)}
    user = api.request("POST", "/api/users", json=body)
    out.result(user, lambda: out.out.print(f"Created {user['name']} ({user['role']})."))
    return EXIT_OK


def cmd_users_update(api: Api, out: Any, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {k: v for k, v in (("role", args.role),
                                               ("display_name", args.display_name)) if v}
    if args.enable:
        body["disabled"] = False
    password = _password(args)
    if password:
        body["password"] = password
    if not body:
        raise CliError("nothing to change: give --role, --display-name, --password or --enable",
                       EXIT_INPUT)
    user = api.request("PATCH", f"/api/users/{args.name}", json=body)
    out.result(user, lambda: out.out.print(f"Updated {user['name']} ({user['role']})."))
    return EXIT_OK


def cmd_users_disable(api: Api, out: Any, args: argparse.Namespace) -> int:
    user = api.request("PATCH", f"/api/users/{args.name}", json={"disabled": True})
    out.result(user, lambda: out.out.print(
        f"Disabled {user['name']}: their sessions and tokens stopped working."))
    return EXIT_OK


def _user_param(args: argparse.Namespace) -> dict[str, str]:
    return {"user": args.user} if args.user else {}


def cmd_tokens_list(api: Api, out: Any, args: argparse.Namespace) -> int:
    data = api.request("GET", "/api/tokens", params=_user_param(args))
    rows = [[str(t["id"]), t["prefix"] + "…", t["name"], " ".join(t["scopes"]),
             t["expires_at"] or "never", t["last_used_at"] or "never",
             "live" if t["live"] else "revoked/expired"] for t in data["items"]]
    out.result(data, lambda: out.out.print(_table(
        f"{data['total']} token(s)",
        ["id", "prefix", "name", "scopes", "expires", "last used", "state"], rows)))
    return EXIT_OK


def cmd_tokens_create(api: Api, out: Any, args: argparse.Namespace) -> int:
    body = {"name": args.name, "scopes": args.scope or [],
            "expires_in_days": None if args.never_expires else args.days}
    made = api.request("POST", "/api/tokens", params=_user_param(args), json=body)
    out.result(made, lambda: out.out.print(
        f"{made['token']}\nToken {made['id']} for {made['user']}: copy it now, it is not shown "
        "again."))
    return EXIT_OK


def cmd_tokens_revoke(api: Api, out: Any, args: argparse.Namespace) -> int:
    gone = api.request("DELETE", f"/api/tokens/{args.token_id}", params=_user_param(args))
    out.result(gone, lambda: out.out.print(f"Revoked token {gone['id']} ({gone['prefix']}…)."))
    return EXIT_OK


def add_commands(command: Callable[..., argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:
    login = command("login", "sign in and keep a personal token for this machine",
                    "Asks your name and password (or takes --with-token TOKEN) and stores a "
                    "personal token 0600 in your config directory; later commands use it when "
                    "neither "
                    "--token nor TRUSTAGENCY_API_TOKEN is given.")
    login.add_argument("--name", help="your user name (asked when left out)")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (scripts)")
    login.add_argument("--with-token", dest="login_token", metavar="TOKEN",
                       help="store this personal token instead of signing in")
    login.add_argument("--days", type=int, default=90,
                       help="the new token's lifetime in days (1-3650, default 90)")
    login.set_defaults(func=cmd_login)
    command("logout", "revoke the stored token and forget it",
            "Revokes the token `trustagency login` stored and deletes the file.").set_defaults(
        func=cmd_logout)
    command("whoami", "who the API sees: name, role, how you signed in",
            "GET /api/me with the token in use.").set_defaults(func=cmd_whoami)

    def group(name: str, help_: str) -> Callable[..., argparse.ArgumentParser]:
        return groups.actions(command(name, help_, help_), common)

    users = group("users", "list, create, change or disable users (admins)")
    users("list", "every user with role and state", cmd_users_list)
    create = users("create", "a new user (--password asks for one; without it, tokens only)",
                   cmd_users_create)
    create.add_argument("name", help="letters, digits, '.', '_' or '-'")
    create.add_argument("--role", choices=ROLES, default="editor",
                        help="what they may do (default: editor)")
    create.add_argument("--display-name", help="any script, e.g. 张伟")
    create.add_argument("--password", action="store_true", help="ask for a password")
    update = users("update", "change a user's role, display name or password, or re-enable",
                   cmd_users_update)
    update.add_argument("name", help="the user to change")
    update.add_argument("--role", choices=ROLES, help="a new role")
    update.add_argument("--display-name", help="a new display name (any script)")
    update.add_argument("--password", action="store_true", help="ask for a new password")
    update.add_argument("--enable", action="store_true", help="enable a disabled user")
    users("disable", "disable a user: their sessions and tokens stop at once",
          cmd_users_disable).add_argument(
              "name", help="the user to disable: their sessions and tokens stop at once")

    tokens = group("tokens", "list, create or revoke personal API tokens")
    for name, help_, func in (("list", "your tokens (prefix, name, expiry, last use)",
                               cmd_tokens_list),
                              ("create", "a new token, printed once", cmd_tokens_create),
                              ("revoke", "revoke a token by id", cmd_tokens_revoke)):
        child = tokens(name, help_, func)
        child.add_argument("--user", help="another user's tokens (admins only)")
        if name == "create":
            child.add_argument("name", help="what it is for: 'CI', 'Prometheus'")
            child.add_argument("--days", type=int, default=90, help="lifetime (1-3650)")
            child.add_argument("--never-expires", action="store_true",
                               help="no expiry (prefer --days)")
            child.add_argument("--scope", action="append", choices=["ops"],
                               help="extra grant (admins): ops = health details, /metrics")
        if name == "revoke":
            child.add_argument("token_id", type=int, metavar="ID",
                               help="the token's id (trustagency tokens list)")
