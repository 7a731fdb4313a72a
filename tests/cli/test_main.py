"""The `trustagency` parser: every option and argument says what it is for, and the batch
options reach the request as the API names them (no server needed)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from app.cli.main import build_parser


def _parsers(parser: argparse.ArgumentParser, name: str = "trustagency"
             ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for child_name, child in action.choices.items():
                if id(child) not in seen:  # an alias names the same parser
                    seen.add(id(child))
                    yield from _parsers(child, f"{name} {child_name}")


def test_every_option_and_argument_has_help():
    missing = []
    for name, parser in _parsers(build_parser()):
        if name == "trustagency up":  # its own parser, in app.cli.devstack
            continue
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if action.help is None or (action.help != argparse.SUPPRESS
                                       and not action.help.strip()):
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_submit_is_generate_with_priority_and_owner():
    args = build_parser().parse_args(["submit", "--priority", "high", "--owner", "编辑部",
                                      "-c", "news", "A title"])
    assert (args.priority, args.owner, args.category, args.titles) == (
        "high", "编辑部", "news", ["A title"])
    assert args.func.__name__ == "cmd_generate"
    plain = build_parser().parse_args(["generate", "A title"])
    assert (plain.priority, plain.owner) == (None, None)  # the server's defaults apply
    listing = build_parser().parse_args(["list", "-p", "low", "-o", "alice", "--limit", "5"])
    assert (listing.priority, listing.owner, listing.limit, listing.offset) == (
        "low", "alice", 5, 0)
