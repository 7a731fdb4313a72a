"""Every way the API is started refuses a weak API_TOKEN (a placeholder such as change-me),
naming it: uvicorn on app.main, `make run` (app.cli.devstack), start_backend_daemon.sh and the
systemd unit. The address used, 192.0.2.10 (TEST-NET-1), is on no interface here: were a check
missing, the server could not even bind it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import httpx

from app.core.exposure import EX_CONFIG
from tests.support.server import free_port, running_api
from tests.support.stack import ROOT

EXPOSED = {"API_HOST": "192.0.2.10", "API_TOKEN": "change-me", "API_ALLOW_UNAUTHENTICATED": "false"}
STRONG = "kq3-ZtP0v9xWc1mRb7yLs2eNu8hA"


def run(args: list[str], timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=timeout)


def test_uvicorn_refuses_to_start():
    port = free_port()
    result = run([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                  "--port", str(port)], **EXPOSED)
    assert result.returncode != 0
    assert "API_TOKEN is too weak" in result.stderr
    assert "Traceback" not in result.stderr  # the reason alone
    assert "Uvicorn running" not in result.stderr


def test_uvicorn_starts_with_a_strong_token(database, tmp_path):
    allowed = {**EXPOSED, "API_TOKEN": STRONG}
    with running_api(database, tmp_path, **allowed) as server:  # bound to 127.0.0.1
        assert httpx.get(f"{server.url}/api/health/live", timeout=5).status_code == 200


def test_make_run_refuses_before_starting_anything():
    result = run([sys.executable, "-m", "app.cli.devstack", "--no-beat", "--no-flower",
                  "--no-migrate"], **EXPOSED)
    assert result.returncode == EX_CONFIG, result.stdout + result.stderr
    assert "API_TOKEN" in result.stderr
    assert "Redis" not in result.stdout and "starting" not in result.stdout.lower()


def test_the_daemon_script_refuses_and_leaves_no_process():
    pidfile = ROOT / "var" / "run" / "api.pid"
    before = pidfile.read_text() if pidfile.exists() else None
    result = run(["bash", str(ROOT / "start_backend_daemon.sh"), "start"], **EXPOSED)
    assert result.returncode == EX_CONFIG, result.stdout + result.stderr
    assert "API_TOKEN" in result.stderr and "API started" not in result.stdout
    assert (pidfile.read_text() if pidfile.exists() else None) == before


def _unit_commands(name: str) -> tuple[list[str], str]:
    text = (ROOT / "deploy" / "systemd" / name).read_text().replace("\\\n", " ")
    pre = re.findall(r"^ExecStartPre=(.+)$", text, re.M)
    (start,) = re.findall(r"^ExecStart=(.+)$", text, re.M)
    return pre, start


def test_the_systemd_unit_checks_first_and_passes_api_host_to_uvicorn():
    pre, start = _unit_commands("trustagency-api.service")
    assert pre[0].endswith("python -m app.core.exposure")  # before the migration
    assert "--host ${API_HOST}" in start and "--port ${API_PORT}" in start
    # The unit's check, with this checkout's interpreter instead of /opt/trustagency/.venv.
    check = [sys.executable, *shlex.split(pre[0])[1:]]
    refused = run(check, **EXPOSED)
    assert refused.returncode == EX_CONFIG and "API_TOKEN" in refused.stderr
    assert run(check, **{**EXPOSED, "API_TOKEN": STRONG}).returncode == 0
    assert run(check, **{**EXPOSED, "API_TOKEN": ""}).returncode == 0  # logins are required
    assert run(check, API_HOST="127.0.0.1", API_TOKEN="").returncode == 0
