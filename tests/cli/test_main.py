"""The `trustagency` parser: every option and argument says what it is for, and the batch
options reach the request as the API names them (no server needed)."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator

import pytest

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


def test_a_titles_file_that_is_not_utf8_is_bad_input_not_a_traceback(tmp_path, capsys):
    """A GBK file (Chinese Windows' default) or UTF-16 (Notepad's "Unicode") crashed the CLI
    with a UnicodeDecodeError traceback and exit code 1 ("the batch had failures"), as titles
    (generate) and as instructions (profiles set --instructions-file)."""
    from app.cli.batches import read_titles
    from app.cli.client import EXIT_INPUT, CliError
    from app.cli.main import main

    for name, data in (("gbk.txt", "如何在家种植番茄\n".encode("gbk")),
                       ("utf16.txt", "人工智能的未来\n".encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        for argv in (["generate", str(path)],  # titles, and a profile's instructions
                     ["profiles", "set", "guide", "--instructions-file", str(path)]):
            code = main([*argv, "--api-url", "http://127.0.0.1:9"])
            err = capsys.readouterr().err
            assert code == EXIT_INPUT, err
            assert f"{path} is not UTF-8 text" in err and "Traceback" not in err, err
        stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")
        with pytest.raises(CliError, match="stdin is not UTF-8 text") as refused:
            read_titles(["-"], stdin)  # it sent lone surrogates, and httpx raised
        assert refused.value.code == EXIT_INPUT
    # UTF-8 with a BOM and Windows line ends is fine: read_titles takes it as it is.
    path = tmp_path / "windows.txt"
    path.write_bytes("\ufeff如何在家种植番茄\r\n人工智能的未来\r\n".encode())
    assert read_titles([str(path)], io.StringIO()) == ["如何在家种植番茄", "人工智能的未来"]


def test_the_default_api_is_the_one_make_run_started(monkeypatch):
    monkeypatch.delenv("TRUSTAGENCY_API_URL", raising=False)
    monkeypatch.setenv("API_PORT", "8765")
    assert build_parser().parse_args(["list"]).api_url == "http://127.0.0.1:8765"
    monkeypatch.setenv("TRUSTAGENCY_API_URL", "https://articles.example.com")
    assert build_parser().parse_args(["list"]).api_url == "https://articles.example.com"
