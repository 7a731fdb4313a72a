"""`trustagency audit`: the filters reach the API, the table, --json and --csv show the trail."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.cli.audit import cmd_audit
from app.cli.client import Api
from app.cli.main import build_parser
from app.cli.output import Output
from tests.support.articles import ZH_ARTICLE, add_batch


def run(api: Any, argv: list[str]) -> int:
    args = build_parser().parse_args(["audit", *argv])
    cli = Api("http://testserver", None)
    cli.http = api  # the in-process API (TestClient is an httpx.Client)
    return cmd_audit(cli, Output(args.json), args)


def test_audit_as_table_json_and_csv(api: Any, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per row in the table
    _, (first, second) = add_batch([ZH_ARTICLE, ZH_ARTICLE])
    api.post(f"/api/articles/{first}/approve", json={"note": "好"})
    api.post(f"/api/articles/{second}/reject")

    assert run(api, ["--object-id", str(first), "--json"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert [(e["action"], e["object_id"]) for e in page["items"]] == [
        ("approve_article", str(first))]

    assert run(api, ["--action", "reject_article"]) == 0
    table = capsys.readouterr().out
    assert f"article/{second}" in table and "reject_article" in table
    assert "approve_article" not in table

    assert run(api, ["--csv"]) == 0
    lines = capsys.readouterr().out.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,at,actor") and len(lines) == 3
    assert "reject_article" in lines[1] and "好" in lines[2]  # newest first
