"""`trustagency`: the command-line client of the API (and `trustagency up`, the dev stack).

It is a client, so it reads its own two settings from the environment (TRUSTAGENCY_API_URL,
TRUSTAGENCY_API_TOKEN) instead of the service's Settings class.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.articles.export import write_directory
from app.cli import devstack, profiles
from app.cli.client import (
    DEFAULT_API_URL,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_NOT_ALL_DONE,
    EXIT_OK,
    STOP,
    Api,
    CliError,
    Interrupted,
    follow,
)
from app.cli.costs import batch_notes, cost_line, usd

FILE_SUFFIXES = (".txt", ".csv", ".md", ".list", ".lst")

EXIT_CODES = """\
exit codes:
  0    success (generate, status --wait, retry: every item of the batch completed)
  1    the batch ended with failed or cancelled items, or a budget paused it
  2    bad input: usage, a field the API rejected (422), an unknown batch (404)
  3    the API cannot be reached
  4    the API wants a (valid) token: 401
  5    the API refused in this state (409) or failed (5xx)
  130  interrupted (Ctrl-C); the batch keeps running on the server"""


# --- output ----------------------------------------------------------------------------------


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False)

    def result(self, data: Any, human: Callable[[], None]) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
        else:
            human()

    def note(self, message: str) -> None:
        if not self.as_json:
            self.err.print(message)


def watch(api: Api, out: Output, batch: dict) -> dict:
    """`follow` with a live progress bar on the terminal (none with --json)."""
    task_id = batch["task_id"]
    try:
        return _watch(api, out, batch, task_id)
    except KeyboardInterrupt:
        raise Interrupted(task_id) from None


def _watch(api: Api, out: Output, batch: dict, task_id: str) -> dict:
    if out.as_json:
        return follow(api, task_id, lambda _e: None)
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"),
               BarColumn(complete_style="cyan", finished_style="green"),
               MofNCompleteColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=out.err, transient=False) as bar:
        row = bar.add_task(f"{batch.get('category', '')} {task_id[:8]}", total=batch["total"],
                           completed=0, detail="")

        def update(event: dict[str, Any]) -> None:
            detail = f"{event.get('completed', 0)} ok"
            if event.get("failed"):
                detail += f" · [red]{event['failed']} failed[/]"
            if event.get("cancelled"):
                detail += f" · {event['cancelled']} cancelled"
            if event.get("cost_usd") is not None:
                detail += f" · {usd(event['cost_usd'])}"
            detail += quality_counts(event)
            detail += f" · {event.get('status', '')}"
            if event.get("status") == "paused" and event.get("paused_reason"):
                detail += f" ([yellow]{event['paused_reason']}[/])"
            bar.update(row, completed=event.get("current", 0), total=event.get("total"),
                       detail=detail)

        return follow(api, task_id, update)


def quality_counts(data: dict) -> str:
    """" · 2 regenerated · 1 needs review" (nothing when both are 0)."""
    text = f" · {data['regenerated']} regenerated" if data.get("regenerated") else ""
    return text + (f" · [yellow]{data['needs_review']} need review[/]"
                   if data.get("needs_review") else "")


def print_batch(out: Output, status: dict) -> None:
    mode = " · Batch API" if status.get("mode") == "batch" else ""
    title = (f"batch {status['task_id']} · {status['category']}{mode} · "
             f"{status.get('language', 'auto')} · [bold]{status['status']}[/] · "
             f"{status['completed']} completed, {status['failed']} failed, "
             f"{status['cancelled']} cancelled of {status['total']}{quality_counts(status)}")
    table = Table(title=title, title_justify="left", expand=False, caption=cost_line(status),
                  caption_justify="left")
    for name in ("#", "title", "language", "status", "attempts", "article", "cost", "error"):
        table.add_column(name, overflow="fold")
    style = {"completed": "green", "failed": "red", "cancelled": "dim"}
    for item in status.get("items") or []:
        cost = usd(item["cost_usd"]) if item.get("cost_usd") is not None else ""
        table.add_row(str(item["index"] + 1), item["title"], item.get("language") or "",
                      f"[{style.get(item['status'], 'cyan')}]{item['status']}[/]",
                      str(item["attempts"]), str(item["article_id"] or ""), cost,
                      item["error"] or "")
    out.out.print(table)
    notes = batch_notes(status)
    for note in notes:
        out.out.print(note)


def finish(out: Output, status: dict) -> int:
    """Print how a followed batch ended; exit 0 only when every item completed."""
    def human() -> None:
        print_batch(out, status)
        if status["status"] == "completed":
            out.out.print(f"All {status['total']} articles written. Save them with:\n"
                          f"  trustagency articles {status['task_id']} --out articles/")
        elif status["status"] == "paused":
            pass  # print_batch said why and how to resume
        else:
            out.out.print(f"[yellow]The batch ended {status['status']}.[/] Retry its failed "
                          f"items with: trustagency retry {status['task_id']}")

    out.result(status, human)
    return EXIT_OK if status["status"] == "completed" else EXIT_NOT_ALL_DONE


# --- commands --------------------------------------------------------------------------------


def read_titles(sources: list[str], stdin: TextIO) -> list[str]:
    lines: list[str] = []
    if not sources and not stdin.isatty():
        sources = ["-"]
    for source in sources:
        if source == "-":
            lines += stdin.read().splitlines()
        elif os.path.isfile(source):
            lines += Path(source).read_text(encoding="utf-8-sig").splitlines()
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
    batch = api.request("POST", "/api/tasks/generate-articles", headers=headers, json=body)
    out.note(f"Submitted batch [bold]{batch['task_id']}[/]: {batch['total']} title(s), "
             f"category {batch['category']}")
    if args.no_wait:
        out.result(batch, lambda: out.out.print(batch["task_id"]))
        return EXIT_OK
    return finish(out, watch(api, out, batch))


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
        for name in ("id", "title", "status", "words", "file" if args.out else "model"):
            table.add_column(name, overflow="fold")
        for n, article in enumerate(articles):
            last = written[n]["path"] if args.out else article["model"]
            table.add_row(str(article["id"]), article["title"], article.get("status", ""),
                          str(len(article["content"].split())), last)
        out.out.print(table)

    keys = ("id", "title", "status", "language", "model", "created_at")
    data = written if args.out else [{k: a.get(k) for k in keys} for a in articles]
    out.result(data, human)
    return EXIT_OK


def run_up(argv: list[str]) -> int:
    return int(devstack.main(argv) or 0)


# --- arguments -------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    env_url = os.environ.get("TRUSTAGENCY_API_URL") or DEFAULT_API_URL
    env_token = os.environ.get("TRUSTAGENCY_API_TOKEN") or None
    # The connection options work before or after the command (`trustagency --json status X`
    # and `trustagency status X --json`); SUPPRESS keeps a subcommand from resetting them.
    common = Parser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument("--api-url", default=argparse.SUPPRESS,
                       help=f"the API (env TRUSTAGENCY_API_URL, default {DEFAULT_API_URL})")
    group.add_argument("--token", default=argparse.SUPPRESS,
                       help="the server's API_TOKEN (env TRUSTAGENCY_API_TOKEN)")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print one JSON document on stdout instead of tables and bars")

    parser = Parser(
        prog="trustagency",
        description="Submit article titles to TrustAgency, watch the batch, fetch the articles.\n"
        "Every command takes --api-url, --token and --json; `trustagency COMMAND --help`.",
        epilog=EXIT_CODES + "\n\nexamples:\n"
        "  trustagency generate --category guide titles.txt\n"
        "  printf 'One title\\nAnother\\n' | trustagency generate -c news -\n"
        "  trustagency status 3f2a... --json\n"
        "  trustagency generate --mode batch --max-cost 5 titles.txt\n"
        "  trustagency articles 3f2a... --out articles/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--api-url", default=env_url, help=argparse.SUPPRESS)
    parser.add_argument("--token", default=env_token, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)

    def command(name: str, help_: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_, description=description,
                              epilog=EXIT_CODES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    generate = command("generate", "submit titles and watch the batch until it ends",
                       "Submit titles (one article each) and show a live progress bar until "
                       "the batch ends. Exits 0 only when every article was written.")
    generate.add_argument("titles", nargs="*", metavar="TITLE_OR_FILE",
                          help="a file with one title per line, '-' for stdin, or titles "
                               "themselves (stdin is read when nothing is given and it is "
                               "not a terminal)")
    generate.add_argument("-c", "--category", default="guide",
                          help="a short slug such as guide, review, news (default guide)")
    generate.add_argument("-l", "--language", metavar="TAG",
                          help="BCP 47 tag to write in (en, zh-CN, ja ...) or auto: each "
                               "title's own language (default: the server's ARTICLE_LANGUAGE)")
    generate.add_argument("--no-wait", action="store_true",
                          help="print the batch id and return without watching")
    generate.add_argument("--idempotency-key",
                          help="send the same key again to get the same batch back")
    generate.add_argument("--mode", choices=("realtime", "batch"), default="realtime",
                          help="realtime (default), or batch: the provider's Batch API, about "
                               "half the price, within 24 hours")
    generate.add_argument("--max-cost", type=float, metavar="USD",
                          help="this batch's spend cap: it pauses instead of passing it")
    generate.set_defaults(func=cmd_generate)

    status = command("status", "show a batch and its items",
                     "Show a batch: counts, status and one row per item.")
    status.add_argument("task_id", metavar="ID")
    status.add_argument("--wait", action="store_true",
                        help="watch it with a progress bar until it ends (exit code as generate)")
    status.set_defaults(func=cmd_status)

    cancel = command("cancel", "cancel a running batch",
                     "Stop a batch: queued items never run, running ones stop within seconds, "
                     "written articles stay. Exits 5 when the batch already ended.")
    cancel.add_argument("task_id", metavar="ID")
    cancel.set_defaults(func=cmd_cancel)

    retry = command("retry", "queue a finished batch's failed items again",
                    "Queue the failed items of a finished batch again and watch it.")
    retry.add_argument("task_id", metavar="ID")
    retry.add_argument("--no-wait", action="store_true", help="return without watching")
    retry.set_defaults(func=cmd_retry)

    resume = command("resume", "resume a batch a budget paused",
                     "Resume a paused batch (raising its cap first with --max-cost) and watch "
                     "it. Exits 5 when it is not paused or the cap is still reached.")
    resume.add_argument("task_id", metavar="ID")
    resume.add_argument("--max-cost", type=float, metavar="USD",
                        help="raise the batch's own cap (max_cost_usd) to this first")
    resume.add_argument("--no-wait", action="store_true", help="return without watching")
    resume.set_defaults(func=cmd_resume)

    articles = command("articles", "list a batch's articles or write them as Markdown files",
                       "List the articles of a batch, or write each one to DIR as "
                       "NN-title-slug.md with YAML front matter, plus manifest.csv (the ZIP "
                       "export's files: names keep CJK; existing files are replaced).")
    articles.add_argument("task_id", metavar="ID")
    articles.add_argument("--out", metavar="DIR", help="write the Markdown files here")
    articles.set_defaults(func=cmd_articles)

    profiles.add_commands(command, common)

    sub.add_parser("up", help="start the whole stack for development (what `make run` calls); "
                   "`trustagency up --help` for its options", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "up":  # its own options, parsed by app.cli.devstack
        return run_up(argv[1:])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "up":
        return run_up(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    out = Output(args.json)
    api = Api(args.api_url, args.token)
    try:
        return int(args.func(api, out, args))
    except CliError as exc:
        if args.json:
            sys.stdout.write(json.dumps({"error": str(exc), "exit_code": exc.code}) + "\n")
        print(f"trustagency: error: {exc}", file=sys.stderr)
        return exc.code
    except (KeyboardInterrupt, Interrupted) as exc:
        task = getattr(exc, "task_id", None) or getattr(args, "task_id", None) or "ID"
        print(f"\nStopped watching; the batch keeps running on the server. Cancel it with: "
              f"trustagency cancel {task}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        api.http.close()


if __name__ == "__main__":
    sys.exit(main())
