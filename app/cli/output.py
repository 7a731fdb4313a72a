"""How the `trustagency` command shows things: JSON for scripts, or tables and a live progress
bar on the terminal (app.cli.main picks one per run)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.cli.client import EXIT_NOT_ALL_DONE, EXIT_OK, Api, Interrupted, follow
from app.cli.costs import batch_notes, cost_line, usd


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


def who(batch: dict) -> str:
    """"high priority · owner 编辑部" (the owner escaped: it is text, not markup)."""
    text = f"{batch.get('priority') or 'normal'} priority"
    return text + (f" · owner {escape(batch['owner'])}" if batch.get("owner") else "")


def print_batch(out: Output, status: dict) -> None:
    mode = " · Batch API" if status.get("mode") == "batch" else ""
    title = (f"batch {status['task_id']} · {status['category']}{mode} · "
             f"{status.get('language', 'auto')} · {who(status)} · [bold]{status['status']}[/] · "
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


STATUS_STYLE = {"completed": "green", "partially_completed": "yellow", "failed": "red",
                "cancelled": "dim", "paused": "yellow"}


def print_batch_list(out: Output, page: dict) -> None:
    """A page of GET /api/tasks as a table, newest first."""
    shown = len(page["items"])
    first = page["offset"] + 1 if shown else page["offset"]
    table = Table(title=f"batches {first}-{page['offset'] + shown} of {page['total']}",
                  title_justify="left", expand=False)
    for name in ("id", "created", "category", "priority", "owner", "status", "done", "cost"):
        table.add_column(name, overflow="fold")
    for b in page["items"]:
        done = f"{b['completed'] + b['failed'] + b['cancelled']}/{b['total']}"
        if b["failed"]:
            done += f" ({b['failed']} failed)"
        table.add_row(b["task_id"], str(b["created_at"])[:19].replace("T", " "),
                      escape(b["category"]), b.get("priority") or "normal",
                      escape(b.get("owner") or ""),
                      f"[{STATUS_STYLE.get(b['status'], 'cyan')}]{b['status']}[/]", done,
                      usd(b["cost_usd"]) if b.get("cost_usd") is not None else "")
    out.out.print(table)
    if page["offset"] + shown < page["total"]:
        out.out.print(f"more: --offset {page['offset'] + shown}")


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
