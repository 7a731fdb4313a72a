"""`trustagency articles show|seo|approve|publish|schedule|unpublish ARTICLE_ID`: one article's
SEO fields and publish state (GET/PATCH /api/articles/{id}, POST .../approve|publish|schedule|
unpublish). `trustagency articles BATCH_ID` (a batch's articles) stays in app.cli.batches:
app.cli.main sends the words below here. Each review action carries the version it was shown
(`--version`, default the current one, read first), so a change made meanwhile is a 409."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.cli import groups
from app.cli.client import EXIT_INPUT, EXIT_OK, Api, CliError

ACTIONS = ("show", "seo", "approve", "publish", "schedule", "unpublish")
SEO_OPTIONS = (("--slug", "slug"), ("--seo-title", "seo_title"),
               ("--meta-description", "meta_description"), ("--excerpt", "excerpt"))
SHOWN = ("id", "title", "status", "version", "language", "slug", "seo_title",
         "meta_description", "excerpt", "tags", "publish_at", "published_at",
         "published_version")


def _print(out: Any, article: dict) -> None:
    def human() -> None:
        for key in SHOWN:
            value = article.get(key)
            if isinstance(value, list):
                value = ", ".join(value)
            out.out.print(f"  {key}: {value if value not in (None, '') else '-'}")
        for flag in article.get("seo_flags") or []:
            out.out.print(f"  [yellow]{flag['name']}[/]: {flag['message']}")

    out.result(article, human)


def _version(api: Api, args: argparse.Namespace) -> int:
    if args.version is not None:
        return int(args.version)
    return int(api.request("GET", f"/api/articles/{args.article_id}")["version"])


def cmd_show(api: Api, out: Any, args: argparse.Namespace) -> int:
    _print(out, api.request("GET", f"/api/articles/{args.article_id}"))
    return EXIT_OK


def cmd_seo(api: Api, out: Any, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {field: getattr(args, field) for _opt, field in SEO_OPTIONS
                            if getattr(args, field) is not None}
    if args.tags is not None:
        body["tags"] = [tag.strip() for tag in args.tags.split(",") if tag.strip()]
    if not body:
        raise CliError("give at least one of --slug, --seo-title, --meta-description, "
                       "--excerpt, --tags", EXIT_INPUT)
    body["version"] = _version(api, args)
    _print(out, api.request("PATCH", f"/api/articles/{args.article_id}", json=body))
    return EXIT_OK


def _review(action: str) -> Callable[[Api, Any, argparse.Namespace], int]:
    def run(api: Api, out: Any, args: argparse.Namespace) -> int:
        body: dict[str, Any] = {"version": _version(api, args)}
        if action == "schedule":
            when = datetime.fromisoformat(args.at)
            body["publish_at"] = (when if when.tzinfo else when.astimezone()).isoformat()
        _print(out, api.request("POST", f"/api/articles/{args.article_id}/{action}",
                                json=body))
        return EXIT_OK

    return run


def cmd_unpublish(api: Api, out: Any, args: argparse.Namespace) -> int:
    _print(out, api.request("POST", f"/api/articles/{args.article_id}/unpublish", json={}))
    return EXIT_OK


def _at(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "an ISO 8601 time such as 2026-05-01T08:00 (your zone) or 2026-05-01T00:00Z"
        ) from None
    return value


def add_commands(command: Callable[..., argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:
    parser = command("article", "one article's SEO fields and publishing (also: trustagency "
                     "articles show|seo|approve|publish|schedule|unpublish ID)",
                     "Show or change an article's SEO fields (slug, SEO title, meta "
                     "description, excerpt, tags), approve it, publish it now or at a time, "
                     "or take it down. A published article that is edited stays live with its "
                     "published version until the edit is approved and published.")
    add_action = groups.actions(parser, common)

    def action(name: str, help_: str, func: Callable[..., int],
               pinned: bool = False) -> argparse.ArgumentParser:
        child = add_action(name, help_, func)
        child.add_argument("article_id", metavar="ARTICLE_ID", type=int,
                           help="the article's id (trustagency articles BATCH_ID lists them)")
        if pinned:
            child.add_argument("--version", type=int, metavar="N",
                               help="the version you read (default: the current one); a "
                               "change since then is refused (409)")
        return child

    action("show", "the article's SEO fields and publish state", cmd_show)
    seo = action("seo", "change SEO fields (a new version; a published article stays live "
                 "until the edit is published)", cmd_seo, pinned=True)
    for option, field in SEO_OPTIONS:
        seo.add_argument(option, dest=field, metavar="TEXT", help=f"the new {field}")
    seo.add_argument("--tags", metavar="A,B", help="comma-separated tags (empty: none)")
    action("approve", "approve the version you read", _review("approve"), pinned=True)
    action("publish", "publish now: the version you read goes live", _review("publish"),
           pinned=True)
    action("schedule", "publish at a time (the workers fire it; UTC in the API)",
           _review("schedule"), pinned=True).add_argument(
        "--at", required=True, type=_at, metavar="TIME",
        help="ISO 8601; without a zone, this machine's zone (e.g. 2026-05-01T08:00)")
    action("unpublish", "take the live version down, or cancel a schedule", cmd_unpublish)
