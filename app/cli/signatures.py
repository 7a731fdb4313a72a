"""`trustagency signatures backfill|status`: the near-duplicate signatures of articles stored
before migration 0005 (app/articles/duplicates.py). Registered by app.cli.main.

Unlike the other commands these work on the database itself (DATABASE_URL, the service's
settings), not through the API: run them where the service's configuration is.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app import models as _models  # noqa: F401  (every mapper, before a query configures them)
from app.articles import duplicates
from app.cli.client import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREACHABLE, Api, CliError
from app.core.db import session_scope


def cmd_backfill(api: Api, out: Any, args: argparse.Namespace) -> int:
    """Sign the unsigned articles in id order, one committed chunk at a time: a run stopped
    anywhere (Ctrl-C, a crash, --max-chunks) loses at most its current chunk, and the next
    run continues with the articles still unsigned."""
    signed, chunks, after, started = 0, 0, 0, time.monotonic()
    try:
        while args.max_chunks is None or chunks < args.max_chunks:
            with session_scope(read_only=True) as session:
                chunk = duplicates.unsigned_chunk(session, after_id=after,
                                                  limit=args.batch_size)
            if not chunk.rows:
                break
            with session_scope() as session:
                signed += duplicates.store_chunk(session, chunk)
            chunks, after = chunks + 1, chunk.last_id
            out.note(f"signed {signed:,} articles (up to id {after})")
        with session_scope(read_only=True) as session:
            left = duplicates.unsigned(session)
    except KeyboardInterrupt:
        out.note(f"stopped after {signed:,} articles; run it again to continue")
        return EXIT_INTERRUPTED
    except SQLAlchemyError as exc:
        raise CliError(f"the database failed: {str(getattr(exc, 'orig', None) or exc)}",
                       EXIT_UNREACHABLE) from exc
    data = {"signed": signed, "chunks": chunks, "unsigned": left,
            "seconds": round(time.monotonic() - started, 1)}
    out.result(data, lambda: out.out.print(
        f"{signed:,} articles signed in {data['seconds']} s; {left:,} left without a "
        "signature" + (" (run it again to continue)" if left else "")))
    return EXIT_OK


def cmd_status(api: Api, out: Any, args: argparse.Namespace) -> int:
    try:
        with session_scope(read_only=True) as session:
            left = duplicates.unsigned(session)
    except SQLAlchemyError as exc:
        raise CliError(f"the database failed: {str(getattr(exc, 'orig', None) or exc)}",
                       EXIT_UNREACHABLE) from exc
    out.result({"unsigned": left}, lambda: out.out.print(
        f"{left:,} articles without a near-duplicate signature"
        + ("; sign them with `trustagency signatures backfill`" if left else "")))
    return EXIT_OK


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def add_commands(sub: Any) -> None:
    """`sub` is the top parser's subparsers action."""
    parser = sub.add_parser(
        "signatures", help="sign the articles stored before near-duplicate signatures existed",
        description="The near-duplicate check finds an article through its stored signature; "
        "articles stored before migration 0005 have none until a backfill signs them. Works "
        "on the database of DATABASE_URL (the service's settings), not through the API.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    parser_class=type(parser))
    json_ = argparse.ArgumentParser(add_help=False)
    json_.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print one JSON document on stdout")
    backfill = actions.add_parser(
        "backfill", parents=[json_], help="sign every article without a signature",
        description=cmd_backfill.__doc__)
    backfill.add_argument("--batch-size", type=_positive, default=500, metavar="N",
                          help="articles per committed chunk (default 500)")
    backfill.add_argument("--max-chunks", type=_positive, metavar="N",
                          help="stop after N chunks (default: until none is left)")
    backfill.set_defaults(func=cmd_backfill)
    status = actions.add_parser("status", parents=[json_],
                                help="how many articles have no signature")
    status.set_defaults(func=cmd_status)
