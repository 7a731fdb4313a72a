"""A command group's actions (`trustagency profiles list`, `trustagency webhooks test`...): one
sub-parser per action, each with the connection and output options and a help of its own."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Action = Callable[[str, str, Callable[..., int]], argparse.ArgumentParser]


def actions(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> Action:
    """`action(name, help, func)` adds an action to `parser` and returns its sub-parser."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                parser_class=type(parser))

    def action(name: str, help_: str, func: Callable[..., int]) -> argparse.ArgumentParser:
        child = sub.add_parser(name, parents=[common], help=help_, description=help_)
        child.set_defaults(func=func)
        return child

    return action
