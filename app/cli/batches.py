"""The batch commands of `trustagency`: generate (alias submit), list, status, cancel, retry,
resume, articles. Registered by app.cli.main (`add_commands`); `out` is its Output."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table

from app.articles.export import write_directory
from app.batches.enums import BatchStatus, Priority
from app.cli.client import EXIT_INPUT, EXIT_OK, STOP, Api, CliError
from app.cli.costs import usd
from app.cli.files import read_text
from app.cli.output import Output, finish, print_batch, print_batch_list, watch

FILE_SUFFIXES = (".txt", ".csv", ".md", ".list", ".lst")
PRIORITIES = tuple(Priority)
STATUSES = tuple(BatchStatus)


def read_titles(sources: list[str], stdin: TextIO) -> list[str]:
    lines: list[str] = []
    if not sources and not stdin.isatty():
        sources = ["-"]
    for source in sources:
        if source == "-" or os.path.isfile(source):
            lines += read_text(source, stdin).splitlines()
        elif source.lower().endswith(FILE_SUFFIXES):
            raise CliError(f"no such file: {source}", EXIT_INPUT)
        else:
            lines.append(source)
    titles = [line.strip() for line in lines if line.strip()]
    if not titles:
        raise CliError("no titles given: pass a file (one title per line), titles as "
                       "arguments, or '-' to read them from stdin", EXIT_INPUT)
    return titles


def cmd_generate(api: Api, out: Output, args: argparse.Namespace) -> int:
    titles = read_titles(args.titles, sys.stdin)
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
    body: dict[str, Any] = {"titles": titles, "category": args.category, "mode": args.mode}
    if args.max_cost is not None:
        body["max_cost_usd"] = args.max_cost
    if args.language:
        body["language"] = args.language
    if args.priority:
        body["priority"] = args.priority
    if args.owner is not None:
        body["owner"] = args.owner
    batch = api.request("POST", "/api/tasks/generate-articles", headers=headers, json=body)
    owner = f", owner {escape(batch['owner'])}" if batch.get("owner") else ""
    out.note(f"Submitted batch [bold]{batch['task_id']}[/]: {batch['total']} title(s), "
             f"category {batch['category']}, {batch.get('priority', 'normal')} priority{owner}")
    if args.no_wait:
        out.result(batch, lambda: out.out.print(batch["task_id"]))
        return EXIT_OK
    return finish(out, watch(api, out, batch))


def cmd_list(api: Api, out: Output, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"limit": args.limit, "offset": args.offset}
    for name in ("status", "priority", "owner"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    page = api.request("GET", "/api/tasks", params=params)
    out.result(page, lambda: print_batch_list(out, page))
    return EXIT_OK


def cmd_status(api: Api, out: Output, args: argparse.Namespace) -> int:
    status = api.request("GET", f"/api/tasks/{args.task_id}/status")
    if args.wait:
        if status["status"] not in STOP:
            status = watch(api, out, status)
        return finish(out, status)
    out.result(status, lambda: print_batch(out, status))
    return EXIT_OK


def cmd_cancel(api: Api, out: Output, args: argparse.Namespace) -> int:
    batch = api.request("POST", f"/api/tasks/{args.task_id}/cancel")
    out.result(batch, lambda: out.out.print(
        f"Cancel requested for batch {batch['task_id']}: now {batch['status']}; "
        f"{batch['completed']} completed, {batch['cancelled']} cancelled of {batch['total']}. "
        "Running articles stop within seconds."))
    return EXIT_OK


def cmd_retry(api: Api, out: Output, args: argparse.Namespace) -> int:
    batch = api.request("POST", f"/api/tasks/{args.task_id}/retry-failed")
    out.note(f"Queued the failed items of batch {batch['task_id']} again")
    if args.no_wait:
        out.result(batch, lambda: print_batch(out, batch))
        return EXIT_OK
    return finish(out, watch(api, out, batch))


def cmd_resume(api: Api, out: Output, args: argparse.Namespace) -> int:
    if args.max_cost is not None:
        api.request("PATCH", f"/api/tasks/{args.task_id}", json={"max_cost_usd": args.max_cost})
        out.note(f"Raised the cap of batch {args.task_id} to {usd(args.max_cost)}")
    batch = api.request("POST", f"/api/tasks/{args.task_id}/resume")
    out.note(f"Resumed batch {batch['task_id']}")
    if args.no_wait:
        out.result(batch, lambda: print_batch(out, batch))
        return EXIT_OK
    return finish(out, watch(api, out, batch))


def cmd_articles(api: Api, out: Output, args: argparse.Namespace) -> int:
    status = api.request("GET", f"/api/tasks/{args.task_id}/status")
    index = {i["article_id"]: i["index"] for i in status["items"] if i["article_id"]}
    articles: list[dict] = []
    while True:
        page = api.request("GET", "/api/articles", params={
            "task_id": args.task_id, "limit": 500, "offset": len(articles)})
        articles += page["items"]
        if not page["items"] or len(articles) >= page["total"]:
            break
    articles.sort(key=lambda a: index.get(a["id"], a["id"]))
    written: list[dict] = []
    if args.out:
        # The ZIP export's files: readable names (CJK kept), YAML front matter, manifest.csv.
        paths = write_directory(articles, Path(args.out), total=len(articles))
        written = [{"id": a["id"], "title": a["title"], "path": str(p)}
                   for a, p in zip(articles, paths, strict=False)]

    def human() -> None:
        if not articles:
            out.out.print(f"No articles yet for batch {args.task_id} ({status['status']}).")
            return
        table = Table(title=f"{len(articles)} article(s) of batch {args.task_id}",
                      title_justify="left")
        for name in ("id", "title", "status", "slug", "words", "file" if args.out else "model"):
            table.add_column(name, overflow="fold")
        for n, article in enumerate(articles):
            last = written[n]["path"] if args.out else article["model"]
            table.add_row(str(article["id"]), article["title"], article.get("status", ""),
                          article.get("slug") or "", str(len(article["content"].split())), last)
        out.out.print(table)

    keys = ("id", "title", "status", "language", "model", "created_at", "slug", "seo_title",
            "meta_description", "excerpt", "tags", "published_version", "publish_at")
    data = written if args.out else [{k: a.get(k) for k in keys} for a in articles]
    out.result(data, human)
    return EXIT_OK


# --- arguments -------------------------------------------------------------------------------

Command = Callable[..., argparse.ArgumentParser]
BATCH_ID_HELP = "the batch's id (task_id in the API, printed by generate and list)"


def add_commands(command: Command) -> None:
    """The batch commands; `command(name, help, description, aliases=...)` makes a subparser
    with the connection options and the exit codes."""
    generate = command("generate", "submit titles and watch the batch until it ends",
                       "Submit titles (one article each) and show a live progress bar until "
                       "the batch ends. Exits 0 only when every article was written.",
                       aliases=["submit"])
    generate.add_argument("titles", nargs="*", metavar="TITLE_OR_FILE",
                          help="a file with one title per line, '-' for stdin, or titles "
                               "themselves (stdin is read when nothing is given and it is "
                               "not a terminal)")
    generate.add_argument("-c", "--category", default="guide",
                          help="a short slug such as guide, review, news (default guide)")
    generate.add_argument("-l", "--language", metavar="TAG",
                          help="BCP 47 tag to write in (en, zh-CN, ja ...) or auto: each "
                               "title's own language (default: the server's ARTICLE_LANGUAGE)")
    generate.add_argument("-p", "--priority", choices=PRIORITIES,
                          help="how the scheduler weighs this batch against others waiting: "
                               "high, normal (the default) or low (runs when nothing else "
                               "waits)")
    generate.add_argument("-o", "--owner", metavar="NAME",
                          help="who it is for: your name or your team (up to 100 characters, "
                               "Chinese names too); workers are shared fairly between owners")
    generate.add_argument("--no-wait", action="store_true",
                          help="print the batch id and return without watching")
    generate.add_argument("--idempotency-key",
                          help="send the same key again to get the same batch back (another "
                               "request with it is refused)")
    generate.add_argument("--mode", choices=("realtime", "batch"), default="realtime",
                          help="realtime (default), or batch: the provider's Batch API, about "
                               "half the price, within 24 hours")
    generate.add_argument("--max-cost", type=float, metavar="USD",
                          help="this batch's spend cap: it pauses instead of passing it")
    generate.set_defaults(func=cmd_generate)

    listing = command("list", "list batches, newest first",
                      "List batches, newest first, optionally only those of a status, a "
                      "priority or an owner (GET /api/tasks).")
    listing.add_argument("--status", choices=STATUSES, help="only batches in this state")
    listing.add_argument("-p", "--priority", choices=PRIORITIES,
                         help="only batches of this priority")
    listing.add_argument("-o", "--owner", metavar="NAME",
                         help="only this owner's batches (exact name, as submitted)")
    listing.add_argument("--limit", type=int, default=20, metavar="N",
                         help="batches per page, 1-200 (default 20)")
    listing.add_argument("--offset", type=int, default=0, metavar="N",
                         help="batches to skip, for the next page (default 0)")
    listing.set_defaults(func=cmd_list)

    status = command("status", "show a batch and its items",
                     "Show a batch: counts, status, priority, owner and one row per item.")
    status.add_argument("task_id", metavar="ID", help=BATCH_ID_HELP)
    status.add_argument("--wait", action="store_true",
                        help="watch it with a progress bar until it ends (exit code as generate)")
    status.set_defaults(func=cmd_status)

    cancel = command("cancel", "cancel a running batch",
                     "Stop a batch: queued items never run, running ones stop within seconds, "
                     "written articles stay. Exits 5 when the batch already ended.")
    cancel.add_argument("task_id", metavar="ID", help=BATCH_ID_HELP)
    cancel.set_defaults(func=cmd_cancel)

    retry = command("retry", "queue a finished batch's failed items again",
                    "Queue the failed items of a finished batch again and watch it.")
    retry.add_argument("task_id", metavar="ID", help=BATCH_ID_HELP)
    retry.add_argument("--no-wait", action="store_true", help="return without watching")
    retry.set_defaults(func=cmd_retry)

    resume = command("resume", "resume a batch a budget paused",
                     "Resume a paused batch (raising its cap first with --max-cost) and watch "
                     "it. Exits 5 when it is not paused or the cap is still reached.")
    resume.add_argument("task_id", metavar="ID", help=BATCH_ID_HELP)
    resume.add_argument("--max-cost", type=float, metavar="USD",
                        help="raise the batch's own cap (max_cost_usd) to this first")
    resume.add_argument("--no-wait", action="store_true", help="return without watching")
    resume.set_defaults(func=cmd_resume)

    articles = command("articles", "list a batch's articles or write them as Markdown files",
                       "List the articles of a batch, or write each one to DIR as "
                       "NN-title-slug.md with YAML front matter, plus manifest.csv (the ZIP "
                       "export's files: names keep CJK; existing files are replaced). One "
                       "article: trustagency articles show|seo|approve|publish|schedule|"
                       "unpublish ARTICLE_ID (see trustagency article --help).")
    articles.add_argument("task_id", metavar="ID", help=BATCH_ID_HELP)
    articles.add_argument("--out", metavar="DIR", help="write the Markdown files here")
    articles.set_defaults(func=cmd_articles)
