"""`trustagency signatures backfill|status` on the database itself (no API server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli.main import main
from tests.support import duplicates as library


def _run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["signatures", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_backfill_stopped_after_a_chunk_continues_where_it_stopped(db, capsys):
    library.library(25, sign=False)
    assert _run(capsys, "status") == (0, {"unsigned": 25})
    code, first = _run(capsys, "backfill", "--batch-size", "10", "--max-chunks", "1")
    assert code == 0 and (first["signed"], first["chunks"], first["unsigned"]) == (10, 1, 15)
    code, rest = _run(capsys, "backfill", "--batch-size", "10")
    assert code == 0 and (rest["signed"], rest["chunks"], rest["unsigned"]) == (15, 2, 0)
    code, again = _run(capsys, "backfill")
    assert code == 0 and (again["signed"], again["unsigned"]) == (0, 0)


def test_the_backfill_says_what_it_did(db, capsys):
    library.library(3, sign=False)
    assert main(["signatures", "backfill"]) == 0
    captured = capsys.readouterr()
    assert "signed 3 articles (up to id" in captured.err
    assert "3 articles signed in" in captured.out and "0 left without a signature" in captured.out
    with pytest.raises(SystemExit) as exited:
        main(["signatures", "backfill", "--batch-size", "0"])
    assert exited.value.code == 2
    assert "--batch-size: must be at least 1, got 0" in capsys.readouterr().err


def test_the_command_runs_on_its_own(db):
    """In a process of its own, with only the service's settings (no test imports)."""
    library.library(3, sign=False)
    env = {**os.environ, "DATABASE_URL": db}
    done = subprocess.run([sys.executable, "-m", "app.cli.main", "signatures", "backfill",
                           "--json"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["signed"] == 3
