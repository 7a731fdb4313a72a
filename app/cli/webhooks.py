"""`trustagency webhooks list|create|update|delete|deliveries|redeliver|test`: signed outbound
events (/api/webhooks, admins). Registered by app.cli.main; `out` is its Output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.table import Table

from app.cli.client import EXIT_INPUT, EXIT_OK, Api, CliError
from app.cli.groups import actions
from app.webhooks.enums import SUBSCRIBABLE

EVENTS_HELP = "comma-separated events: " + ", ".join(SUBSCRIBABLE)


def _events(text: str) -> list[str]:
    return [e.strip() for e in text.split(",") if e.strip()]


def _print_subscription(out: Any, sub: dict) -> None:
    state = "enabled" if sub["enabled"] else f"DISABLED ({sub['disabled_reason'] or 'by an admin'})"
    out.out.print(f"[bold]{sub['id']}[/] · {state}")
    out.out.print(f"  url: {sub['url']}", markup=False)
    out.out.print(f"  events: {', '.join(sub['events'])}")
    if sub.get("description"):
        out.out.print(f"  description: {sub['description']}", markup=False)
    if sub.get("failing_since"):
        out.out.print(f"  failing since: {sub['failing_since']}")
    if sub.get("secret"):
        out.out.print(f"  secret: {sub['secret']}   (shown this once: store it now)",
                      markup=False)


def cmd_list(api: Api, out: Any, args: argparse.Namespace) -> int:
    data = api.request("GET", "/api/webhooks")

    def human() -> None:
        table = Table(title=f"{data['total']} webhook subscription(s)", title_justify="left")
        for name in ("id", "url", "events", "state"):
            table.add_column(name, overflow="fold")
        for s in data["items"]:
            table.add_row(s["id"], s["url"], ", ".join(s["events"]),
                          "enabled" if s["enabled"] else "disabled")
        out.out.print(table)

    out.result(data, human)
    return EXIT_OK


def cmd_create(api: Api, out: Any, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"url": args.url, "events": _events(args.events)}
    if args.description is not None:
        body["description"] = args.description
    sub = api.request("POST", "/api/webhooks", json=body)
    out.result(sub, lambda: _print_subscription(out, sub))
    return EXIT_OK


def cmd_update(api: Api, out: Any, args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.url is not None:
        changes["url"] = args.url
    if args.events is not None:
        changes["events"] = _events(args.events)
    if args.description is not None:
        changes["description"] = args.description
    if args.enable or args.disable:
        changes["enabled"] = bool(args.enable)
    if not changes and not args.rotate_secret:
        raise CliError("nothing to change: give at least one option (see --help)", EXIT_INPUT)
    if changes:
        sub = api.request("PATCH", f"/api/webhooks/{args.id}", json=changes)
    if args.rotate_secret:  # its answer is the whole subscription, with the new secret
        sub = api.request("POST", f"/api/webhooks/{args.id}/rotate-secret")
    out.result(sub, lambda: _print_subscription(out, sub))
    return EXIT_OK


def cmd_delete(api: Api, out: Any, args: argparse.Namespace) -> int:
    api.request("DELETE", f"/api/webhooks/{args.id}")
    out.result({"id": args.id, "deleted": True},
               lambda: out.out.print(f"Deleted webhook subscription {args.id}."))
    return EXIT_OK


def cmd_deliveries(api: Api, out: Any, args: argparse.Namespace) -> int:
    page = api.request("GET", f"/api/webhooks/{args.id}/deliveries",
                       params={"offset": args.offset, "limit": args.limit})

    def human() -> None:
        table = Table(title=f"{page['total']} deliveries, newest first", title_justify="left")
        for name in ("id", "event", "type", "status", "attempts", "last answer", "next attempt"):
            table.add_column(name, overflow="fold")
        for d in page["items"]:
            last = d["attempt_log"][0] if d["attempt_log"] else None
            answer = "" if last is None else (
                f"{last['http_status'] or '-'} in {last['latency_ms']} ms"
                + (f": {last['error']}" if last["error"] else ""))
            table.add_row(str(d["id"]), d["event_id"], d["event_type"], d["status"],
                          str(d["attempts"]), answer, d["next_attempt_at"] or "")
        out.out.print(table)

    out.result(page, human)
    return EXIT_OK


def cmd_redeliver(api: Api, out: Any, args: argparse.Namespace) -> int:
    row = api.request("POST", f"/api/webhooks/{args.id}/deliveries/{args.delivery_id}/redeliver")
    out.result(row, lambda: out.out.print(
        f"Delivery {row['id']} ({row['event_type']}, {row['event_id']}) is sent again."))
    return EXIT_OK


def cmd_test(api: Api, out: Any, args: argparse.Namespace) -> int:
    row = api.request("POST", f"/api/webhooks/{args.id}/test")
    out.result(row, lambda: out.out.print(
        f"A webhook.test ping is on its way ({row['event_id']}); see "
        f"`trustagency webhooks deliveries {args.id}`."))
    return EXIT_OK


def add_commands(command: Callable[..., argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:
    parser = command("webhooks", "signed webhook subscriptions and their delivery logs",
                     "Other systems hear of batch and article events through signed POSTs "
                     "(Standard Webhooks). Admins only. The secret is shown once, at create "
                     "and at --rotate-secret.")
    action = actions(parser, common)

    def with_id(child: argparse.ArgumentParser) -> argparse.ArgumentParser:
        child.add_argument("id", metavar="ID", help="the subscription's id (see `list`)")
        return child

    action("list", "every subscription (without secrets)", cmd_list)
    create = action("create", "subscribe a URL to events; prints the secret once", cmd_create)
    create.add_argument("url", metavar="URL", help="http(s) URL the events are POSTed to")
    create.add_argument("--events", required=True, metavar="LIST", help=EVENTS_HELP)
    create.add_argument("--description", metavar="TEXT", help="a note for admins")
    update = with_id(action("update", "change a subscription, enable or disable it, or "
                            "rotate its secret", cmd_update))
    update.add_argument("--url", metavar="URL", help="a new URL")
    update.add_argument("--events", metavar="LIST", help=EVENTS_HELP)
    update.add_argument("--description", metavar="TEXT", help="a new note")
    toggle = update.add_mutually_exclusive_group()
    toggle.add_argument("--enable", action="store_true", help="enable it (clears the reason)")
    toggle.add_argument("--disable", action="store_true", help="stop sending to it")
    update.add_argument("--rotate-secret", action="store_true",
                        help="a new signing secret, printed once")
    with_id(action("delete", "forget a subscription and its delivery log", cmd_delete))
    log = with_id(action("deliveries", "the delivery log: events, attempts, answers",
                         cmd_deliveries))
    log.add_argument("--offset", type=int, default=0, metavar="N", help="rows to skip")
    log.add_argument("--limit", type=int, default=20, metavar="N", help="rows (1-100)")
    redeliver = with_id(action("redeliver", "send one delivery again (same webhook-id)",
                               cmd_redeliver))
    redeliver.add_argument("delivery_id", metavar="DELIVERY_ID", type=int,
                           help="the delivery's id (see `deliveries`)")
    with_id(action("test", "send a webhook.test ping", cmd_test))
