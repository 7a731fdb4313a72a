"""`trustagency login|whoami|logout|users|tokens` (the installed command) against a real
uvicorn that requires credentials."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.accounts.permissions import Role
from tests.accounts.conftest import PASSWORD, make_account
from tests.support.server import running_api

BIN = Path(sys.executable).parent / "trustagency"


def _cli(config: Path, url: str, *args: str, stdin: str | None = None,
         token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTAGENCY_")}
    env.update(TRUSTAGENCY_API_URL=url, XDG_CONFIG_HOME=str(config), COLUMNS="160")
    if token:
        env["TRUSTAGENCY_API_TOKEN"] = token
    return subprocess.run([str(BIN), *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_login_keeps_a_0600_token_that_later_commands_use_until_logout(
        database: str, tmp_path: Path, secured: Any) -> None:
    make_account("wang.fang", Role.ADMIN, display_name="王芳")
    config = tmp_path / "config"
    with running_api(database, tmp_path, API_ALLOW_UNAUTHENTICATED="false") as server:
        def cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
            return _cli(config, server.url, *args, **kw)

        assert cli("whoami").returncode == 4  # nobody yet
        login = cli("login", "--name", "wang.fang", "--password-stdin", stdin=PASSWORD + "\n")
        assert login.returncode == 0, login.stderr
        stored = config / "trustagency" / "credentials.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        token = json.loads(stored.read_text())["token"]
        assert token.startswith("ta_") and PASSWORD not in stored.read_text()

        whoami = cli("whoami")
        assert whoami.returncode == 0 and "wang.fang (王芳) · admin · via token" in whoami.stdout

        made = cli("users", "create", "zhao", "--role", "viewer", "--display-name", "赵")
        assert made.returncode == 0, made.stderr
        listed = json.loads(cli("users", "list", "--json").stdout)
        assert {u["name"] for u in listed["items"]} == {"wang.fang", "zhao"}
        ci = json.loads(cli("tokens", "create", "CI", "--user", "zhao", "--json").stdout)
        assert cli("whoami", token=ci["token"]).stdout.startswith("zhao (赵) · viewer")
        assert cli("users", "disable", "zhao").returncode == 0
        assert cli("whoami", token=ci["token"]).returncode == 4

        assert cli("logout").returncode == 0
        assert not stored.exists()
        assert cli("whoami").returncode == 4
        assert cli("whoami", token=token).returncode == 4  # revoked on the server too


def test_a_wrong_password_is_refused_naming_it(database: str, tmp_path: Path,
                                               secured: Any) -> None:
    make_account("li", Role.EDITOR)
    with running_api(database, tmp_path, API_ALLOW_UNAUTHENTICATED="false") as server:
        wrong = _cli(tmp_path, server.url, "login", "--name", "li", "--password-stdin",
                     stdin="not the password\n")
        assert wrong.returncode == 4 and "wrong name or password" in wrong.stderr, wrong.stderr
        assert not (tmp_path / "trustagency" / "credentials.json").exists()
