"""`trustagency profiles list|show|set|delete`: the category profiles (GET/PATCH/DELETE
/api/profiles). Registered by app.cli.main; `out` is its Output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.table import Table

from app.cli.client import EXIT_INPUT, EXIT_OK, Api, CliError
from app.cli.files import read_text
from app.cli.groups import actions

# (option, API field, type, help)
NUMBERS: tuple[tuple[str, str, type, str], ...] = (
    ("--min-words", "min_words", int, "shortest article in words (space-separated languages)"),
    ("--max-words", "max_words", int, "longest article in words"),
    ("--min-chars", "min_chars", int, "shortest article in characters (zh, ja, ko)"),
    ("--max-chars", "max_chars", int, "longest article in characters"),
    ("--min-sections", "min_sections", int, "least number of ## sections"),
    ("--duplicate-threshold", "duplicate_threshold", float,
     "similarity (0..1) from which an article is a near-duplicate of another"),
    ("--temperature", "temperature", float, "sampling temperature for this category"),
)


def _source(profile: dict) -> str:
    return "built-in" if profile["builtin"] else f"stored v{profile['version']}"


def cmd_list(api: Api, out: Any, args: argparse.Namespace) -> int:
    data = api.request("GET", "/api/profiles")

    def human() -> None:
        table = Table(title=f"{data['total']} profile(s); an unknown category uses `default`",
                      title_justify="left")
        for name in ("category", "source", "words", "characters", "sections", "duplicate",
                     "model", "temperature"):
            table.add_column(name, overflow="fold")
        for p in data["items"]:
            table.add_row(p["category"], _source(p), f"{p['min_words']}-{p['max_words']}",
                          f"{p['min_chars']}-{p['max_chars']}", str(p["min_sections"]),
                          f"{p['duplicate_threshold']:g}", p["model"] or "(OPENAI_MODEL)",
                          "(LLM_TEMPERATURE)" if p["temperature"] is None
                          else f"{p['temperature']:g}")
        out.out.print(table)

    out.result(data, human)
    return EXIT_OK


def _print_profile(out: Any, profile: dict, asked: str | None = None) -> None:
    note = (f" (category {asked!r} has no profile of its own)"
            if asked and asked.strip().lower() != profile["category"] else "")
    out.out.print(f"[bold]{profile['category']}[/] · {_source(profile)}{note}")
    for key in ("min_words", "max_words", "min_chars", "max_chars", "min_sections",
                "duplicate_threshold", "model", "temperature", "updated_at"):
        out.out.print(f"  {key}: {profile[key] if profile[key] is not None else '(default)'}")
    out.out.print("  instructions:")
    for line in profile["instructions"].splitlines():
        out.out.print(f"    {line}", markup=False)


def cmd_show(api: Api, out: Any, args: argparse.Namespace) -> int:
    profile = api.request("GET", f"/api/profiles/{args.category}")
    out.result(profile, lambda: _print_profile(out, profile, args.category))
    return EXIT_OK


def cmd_set(api: Api, out: Any, args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.instructions_file:
        changes["instructions"] = read_text(args.instructions_file)
    elif args.instructions is not None:
        changes["instructions"] = args.instructions
    for _option, field, _kind, _help in NUMBERS:
        if getattr(args, field) is not None:
            changes[field] = getattr(args, field)
    if args.model is not None:
        changes["model"] = args.model
    if args.default_model:
        changes["model"] = None
    if args.default_temperature:
        changes["temperature"] = None
    if not changes:
        raise CliError("nothing to change: give at least one option (see --help)", EXIT_INPUT)
    profile = api.request("PATCH", f"/api/profiles/{args.category}", json=changes)

    def human() -> None:
        out.out.print(f"Profile {profile['category']} is now version {profile['version']}.")
        _print_profile(out, profile)

    out.result(profile, human)
    return EXIT_OK


def cmd_delete(api: Api, out: Any, args: argparse.Namespace) -> int:
    api.request("DELETE", f"/api/profiles/{args.category}")
    after = api.request("GET", f"/api/profiles/{args.category}")
    out.result(after, lambda: out.out.print(
        f"Deleted the stored profile of {args.category}; it now uses the "
        f"{_source(after)} profile {after['category']!r}."))
    return EXIT_OK


CATEGORY_HELP = "a category slug such as guide, review or news"


def add_commands(command: Callable[..., argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:
    parser = command("profiles", "list, show, change or delete category profiles",
                     "How each category's articles are written and checked: instructions, "
                     "length bounds (words, or characters for zh/ja/ko), sections, the "
                     "near-duplicate threshold, model and temperature. guide, review, news "
                     "and default have built-in profiles until one is stored; an unknown "
                     "category uses default.")
    action = actions(parser, common)

    action("list", "every profile (stored and built-in)", cmd_list)
    action("show", "the profile a category uses", cmd_show).add_argument(
        "category", metavar="CATEGORY", help=CATEGORY_HELP)
    set_ = action("set", "change a category's profile (stored from its current one, its "
                  "version bumped)", cmd_set)
    set_.add_argument("category", metavar="CATEGORY", help=CATEGORY_HELP)
    text = set_.add_mutually_exclusive_group()
    text.add_argument("--instructions", metavar="TEXT",
                      help="audience, tone, required sections, Markdown conventions")
    text.add_argument("--instructions-file", metavar="FILE", help="read them from a file")
    for option, field, kind, help_ in NUMBERS:
        set_.add_argument(option, dest=field, type=kind, metavar="N", help=help_)
    model = set_.add_mutually_exclusive_group()
    model.add_argument("--model", metavar="NAME", help="the model for this category")
    model.add_argument("--default-model", action="store_true",
                       help="use OPENAI_MODEL again")
    set_.add_argument("--default-temperature", action="store_true",
                      help="use LLM_TEMPERATURE again")
    action("delete", "forget a stored profile (the built-in or default one answers again)",
           cmd_delete).add_argument("category", metavar="CATEGORY", help=CATEGORY_HELP)
