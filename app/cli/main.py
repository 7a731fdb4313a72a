"""`trustagency`: the command-line client of the API (and `trustagency up`, the dev stack).

It is a client, so it reads its own two settings from the environment (TRUSTAGENCY_API_URL,
TRUSTAGENCY_API_TOKEN) instead of the service's Settings class.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from app.cli import (
    accounts,
    articles,
    audit,
    batches,
    credentials_file,
    devstack,
    profiles,
    publishing,
    signatures,
    webhooks,
)
from app.cli.client import (
    DEFAULT_API_URL,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    Api,
    CliError,
    Interrupted,
)
from app.cli.output import Output

EXIT_CODES = """\
exit codes:
  0    success (generate, status --wait, retry: every item of the batch completed)
  1    the batch ended with failed or cancelled items, or a budget paused it
  2    bad input: usage, a field the API rejected (422), an unknown batch (404)
  3    the API cannot be reached
  4    the API wants a (valid) token: 401
  5    the API refused in this state (409) or failed (5xx)
  130  interrupted (Ctrl-C); the batch keeps running on the server"""


def run_up(argv: list[str]) -> int:
    return int(devstack.main(argv) or 0)


# --- arguments -------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    # The API `make run` started on API_PORT, unless TRUSTAGENCY_API_URL names another.
    port = os.environ.get("API_PORT", "").strip()
    local = f"http://127.0.0.1:{port}" if port.isdigit() else DEFAULT_API_URL
    env_url = os.environ.get("TRUSTAGENCY_API_URL") or local
    # `trustagency login`'s stored token when none is given.
    env_token = os.environ.get("TRUSTAGENCY_API_TOKEN") or credentials_file.stored_token()
    # The connection options work before or after the command (`trustagency --json status X`
    # and `trustagency status X --json`); SUPPRESS keeps a subcommand from resetting them.
    common = Parser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument("--api-url", default=argparse.SUPPRESS,
                       help="the API (env TRUSTAGENCY_API_URL; default "
                       f"http://127.0.0.1:$API_PORT, else {DEFAULT_API_URL})")
    group.add_argument("--token", default=argparse.SUPPRESS,
                       help="a personal token or the server's API_TOKEN (env "
                       "TRUSTAGENCY_API_TOKEN; default: the one `trustagency login` stored)")
    group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print one JSON document on stdout instead of tables and bars")

    parser = Parser(
        prog="trustagency",
        description="Submit article titles to TrustAgency, watch the batch, fetch the articles.\n"
        "Every command takes --api-url, --token and --json; `trustagency COMMAND --help`.",
        epilog=EXIT_CODES + "\n\nexamples:\n"
        "  trustagency generate --category guide titles.txt\n"
        "  trustagency submit --priority high --owner alice titles.txt\n"
        "  trustagency list --owner alice --priority high\n"
        "  printf 'One title\\nAnother\\n' | trustagency generate -c news -\n"
        "  trustagency status 3f2a... --json\n"
        "  trustagency generate --mode batch --max-cost 5 titles.txt\n"
        "  trustagency articles 3f2a... --out articles/\n"
        "  trustagency login && trustagency whoami\n"
        "  trustagency tokens create 'CI' --days 30\n"
        "  trustagency audit --object-type article --object-id 42\n"
        "  trustagency articles seo 42 --slug index-funds --tags investing,funds\n"
        "  trustagency articles schedule 42 --at 2026-05-01T08:00",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--api-url", default=env_url, help=argparse.SUPPRESS)
    parser.add_argument("--token", default=env_token, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)

    def command(name: str, help_: str, description: str,
                aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_, description=description,
                              epilog=EXIT_CODES, aliases=list(aliases),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    batches.add_commands(command)
    profiles.add_commands(command, common)
    webhooks.add_commands(command, common)
    accounts.add_commands(command, common)
    audit.add_commands(command)
    articles.add_commands(command, common)
    publishing.add_commands(command, common)
    signatures.add_commands(sub)

    sub.add_parser("up", help="start the whole stack for development (what `make run` calls); "
                   "`trustagency up --help` for its options", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "up":  # its own options, parsed by app.cli.devstack
        return run_up(argv[1:])
    argv = publishing.route_article_actions(argv)  # `articles push ID`, `articles publications`
    if len(argv) > 1 and argv[0] == "articles" and argv[1] in articles.ACTIONS:
        argv[0] = "article"  # `articles BATCH_ID` lists a batch; `articles publish 42` is one
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
