"""`trustagency targets list|create|test|delete` (WordPress sites, /api/targets) and
`trustagency articles push ID --target N` / `trustagency articles publications ID` (an
article on its targets). Registered by app.cli.main; `out` is its Output."""

from __future__ import annotations

import argparse
import getpass
import os
import time
from collections.abc import Callable
from typing import Any

from rich.table import Table

from app.cli import groups
from app.cli.client import EXIT_INPUT, EXIT_NOT_ALL_DONE, EXIT_OK, Api, CliError

PASSWORD_ENV = "WORDPRESS_APP_PASSWORD"
SETTLED = ("sent", "scheduled", "live", "failed", "withdrawn")
# `articles` is the batch command (`trustagency articles BATCH_ID`); these two words after it
# name the publishing actions instead (app.cli.main routes them here).
ARTICLE_ACTIONS = {"push": "articles-push", "publications": "articles-publications"}


def route_article_actions(argv: list[str]) -> list[str]:
    """`[options] articles push ID ...` as the parser knows it: `[options] articles-push ID`."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in ("--api-url", "--token") else 1
    if argv[i:i + 1] == ["articles"] and argv[i + 1:i + 2] and argv[i + 1] in ARTICLE_ACTIONS:
        return [*argv[:i], ARTICLE_ACTIONS[argv[i + 1]], *argv[i + 2:]]
    return argv


def cmd_list(api: Api, out: Any, args: argparse.Namespace) -> int:
    data = api.request("GET", "/api/targets", params={"limit": 200})

    def human() -> None:
        table = Table(title=f"{data['total']} target(s)", title_justify="left")
        for name in ("id", "name", "site", "user", "status", "auto", "unpublish"):
            table.add_column(name, overflow="fold")
        for t in data["items"]:
            table.add_row(str(t["id"]), t["name"], t["base_url"], t["username"],
                          t["default_status"], t["auto_publish"], t["unpublish_action"])
        out.out.print(table)

    out.result(data, human)
    return EXIT_OK


def _pair(value: str) -> dict[str, str]:
    ours, sep, theirs = value.partition("=")
    if not sep or not ours.strip() or not theirs.strip():
        raise argparse.ArgumentTypeError(f"{value!r}: use OURS=WORDPRESS, e.g. guide=Guides")
    return {"category": ours.strip(), "wordpress": theirs.strip()}


def cmd_create(api: Api, out: Any, args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        try:
            password = getpass.getpass(f"Application Password of {args.user}: ")
        except EOFError:  # no terminal to ask on
            raise CliError(f"app_password: set {PASSWORD_ENV}, or run in a terminal",
                           EXIT_INPUT) from None
    body: dict[str, Any] = {"name": args.name, "base_url": args.url, "username": args.user,
                            "app_password": password, "default_status": args.status,
                            "unpublish_action": args.unpublish, "auto_publish": args.auto,
                            "category_map": args.category or []}
    if args.allow_http:
        body["require_https"] = False
    target = api.request("POST", "/api/targets", json=body)
    out.result(target, lambda: out.out.print(
        f"target {target['id']} {target['name']!r} created; check it with "
        f"`trustagency targets test {target['id']}`"))
    return EXIT_OK


def cmd_test(api: Api, out: Any, args: argparse.Namespace) -> int:
    report = api.request("POST", f"/api/targets/{args.target_id}/test")

    def human() -> None:
        verdict = "[green]ok[/]" if report["ok"] else "[red]not working[/]"
        out.out.print(f"target {args.target_id}: {verdict} · user {report['user'] or '?'} · "
                      f"permalinks {report['permalinks'] or '?'} · SEO "
                      f"{report['seo'] or 'none (skipped)'}")
        for problem in report["problems"]:
            out.out.print(f"  {problem['severity']} {problem['code']}: {problem['message']}",
                          markup=False)

    out.result(report, human)
    return EXIT_OK if report["ok"] else EXIT_NOT_ALL_DONE


def cmd_delete(api: Api, out: Any, args: argparse.Namespace) -> int:
    api.request("DELETE", f"/api/targets/{args.target_id}")
    out.result({"deleted": args.target_id},
               lambda: out.out.print(f"target {args.target_id} deleted (its posts stay)"))
    return EXIT_OK


def _print_publications(out: Any, items: list[dict]) -> None:
    table = Table(title_justify="left")
    for name in ("target", "state", "attempts", "remote", "last error / note"):
        table.add_column(name, overflow="fold")
    for p in items:
        table.add_row(f"{p['target_id']} {p['target_name']}", p["state"], str(p["attempts"]),
                      p["remote_url"] or "-", p["last_error"] or p["note"] or "")
    out.out.print(table)


def cmd_push(api: Api, out: Any, args: argparse.Namespace) -> int:
    body = {key: value for key, value in (("status", args.status), ("date_gmt", args.date))
            if value}
    publication = api.request("POST", f"/api/articles/{args.article_id}/publish-to/"
                                      f"{args.target}", json=body)
    deadline = time.monotonic() + args.wait
    while publication["state"] not in SETTLED and time.monotonic() < deadline:
        time.sleep(1)
        publication = api.request("GET", f"/api/publications/{publication['id']}")
    out.result(publication, lambda: _print_publications(out, [publication]))
    return EXIT_NOT_ALL_DONE if publication["state"] == "failed" else EXIT_OK


def cmd_publications(api: Api, out: Any, args: argparse.Namespace) -> int:
    data = api.request("GET", f"/api/articles/{args.article_id}/publications")
    out.result(data, lambda: _print_publications(out, data["items"]))
    return EXIT_OK


def add_commands(command: Callable[..., argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:
    parser = command("targets", "list, create, test or delete WordPress publishing targets",
                     "The WordPress sites articles are published to (admins only). The "
                     f"Application Password is read from {PASSWORD_ENV} or asked for; it is "
                     "never shown again.")
    action = groups.actions(parser, common)
    action("list", "every target", cmd_list)
    create = action("create", "add a WordPress site", cmd_create)
    create.add_argument("name", help="a name of your choice")
    create.add_argument("--url", required=True, help="the site, e.g. https://blog.example.com")
    create.add_argument("--user", required=True, help="the WordPress user to post as")
    create.add_argument("--status", default="draft",
                        choices=("draft", "pending", "future", "publish"),
                        help="the post status sent by default (default draft)")
    create.add_argument("--auto", default="manual", choices=("manual", "on_approve",
                                                             "on_publish"),
                        help="send articles by themselves on approve or on publish")
    create.add_argument("--unpublish", default="draft", choices=("draft", "trash"),
                        help="what unpublishing does to the post (default draft)")
    create.add_argument("--category", action="append", type=_pair, metavar="OURS=WORDPRESS",
                        help="map a category (repeatable); unmapped ones keep their name")
    create.add_argument("--allow-http", action="store_true",
                        help="send the password over plain http:// (a site on a trusted "
                             "network only)")
    for name, help_, func in (("test", "sign in to the site and name what is wrong", cmd_test),
                              ("delete", "forget the target (posts stay on the site)",
                               cmd_delete)):
        action(name, help_, func).add_argument("target_id", metavar="N", type=int,
                                               help="the target's id")

    push = command(ARTICLE_ACTIONS["push"], "send an article to a WordPress target",
                   "Send (or send again) an article to a target: the post is created once "
                   "and updated after that.")
    push.prog = "trustagency articles push"
    push.add_argument("article_id", metavar="ID", type=int, help="the article's id")
    push.add_argument("--target", required=True, type=int, metavar="N", help="the target's id")
    push.add_argument("--status", choices=("draft", "pending", "future", "publish"),
                      help="default: the target's")
    push.add_argument("--date", metavar="ISO", help="UTC date_gmt, required with --status "
                      "future, e.g. 2030-01-31T09:00:00Z")
    push.add_argument("--wait", type=float, default=60, metavar="SECONDS",
                      help="wait this long for the site's answer (0: return at once)")
    push.set_defaults(func=cmd_push)
    listing = command(ARTICLE_ACTIONS["publications"], "an article on each target",
                      "State, remote URL, attempts and the last error of an article on every "
                      "target it was sent to.")
    listing.prog = "trustagency articles publications"
    listing.add_argument("article_id", metavar="ID", type=int, help="the article's id")
    listing.set_defaults(func=cmd_publications)
