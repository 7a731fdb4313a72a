"""`trustagency audit`: the audit trail (GET /api/audit, admins), as a table, JSON or CSV.
Registered by app.cli.main; `out` is its Output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from rich.table import Table

from app.cli.client import EXIT_OK, Api

# (option, query parameter, help)
FILTERS: tuple[tuple[str, str, str], ...] = (
    ("--user", "user", "who acted (a user name, api-token, anonymous)"),
    ("--action", "action", "the route's name, e.g. approve_article, submit_batch"),
    ("--object-type", "object_type", "article, batch, profile, schedule, ..."),
    ("--object-id", "object_id", "the object's id"),
    ("--since", "since", "at or after this time (ISO 8601, e.g. 2026-12-01T08:00:00Z)"),
    ("--until", "until", "before this time (ISO 8601)"),
)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {param: getattr(args, param) for _o, param, _h in FILTERS
            if getattr(args, param) is not None}


def _what(entry: dict[str, Any]) -> str:
    target = "/".join(str(p) for p in (entry["object_type"], entry["object_id"]) if p)
    changes = entry.get("changes") or {}
    versions = ""
    if "version_before" in changes or "version_after" in changes:
        versions = f" v{changes.get('version_before', '?')}→v{changes.get('version_after', '?')}"
    fields = ",".join(changes.get("fields", []))
    return f"{target}{versions}" + (f" [{fields}]" if fields else "")


def cmd_audit(api: Api, out: Any, args: argparse.Namespace) -> int:
    params = _filters(args)
    if args.csv:
        with api.http.stream("GET", "/api/audit.csv", params=params) as response:
            if not response.is_success:
                response.read()
                api.check(response)
            for chunk in response.iter_text():
                sys.stdout.write(chunk)
        return EXIT_OK
    params["limit"] = args.limit
    if args.before:
        params["before"] = args.before
    page = api.request("GET", "/api/audit", params=params)

    def human() -> None:
        table = Table(title=f"{len(page['items'])} entr{'y' if len(page['items']) == 1 else 'ies'}"
                      ", newest first", title_justify="left")
        for name in ("id", "at", "who", "action", "object", "status", "from"):
            table.add_column(name, overflow="fold")
        for e in page["items"]:
            who = e["actor"] + (f" ({e['token_prefix']})" if e.get("token_prefix") else "")
            table.add_row(str(e["id"]), e["at"], who, e["action"], _what(e), str(e["status"]),
                          e.get("client") or "")
        out.out.print(table)
        if page["next_cursor"]:
            out.out.print(f"older entries: trustagency audit --before {page['next_cursor']}")

    out.result(page, human)
    return EXIT_OK


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    parser = command("audit", "the audit trail: who changed what, when, from where (admins)",
                     "Every state-changing request to the API, newest first, with its answer's "
                     "status: failures and refusals too.\n\nexamples:\n"
                     "  trustagency audit --object-type article --object-id 42\n"
                     "  trustagency audit --user alice --since 2026-12-01T00:00:00Z --json\n"
                     "  trustagency audit --action approve_article --csv > approvals.csv")
    for option, param, help_ in FILTERS:
        parser.add_argument(option, dest=param, metavar="VALUE", help=help_)
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="entries to show (1-500, default 50)")
    parser.add_argument("--before", type=int, metavar="CURSOR",
                        help="entries older than this id (the cursor a page prints)")
    parser.add_argument("--csv", action="store_true",
                        help="every matching entry as CSV on stdout (ignores --limit)")
    parser.set_defaults(func=cmd_audit)
