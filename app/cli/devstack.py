"""`trustagency up` (what `make run` calls): the whole stack in one terminal.

Uses the Redis in CELERY_BROKER_URL when it answers, otherwise starts an embedded redis-server
with its data under var/; migrates the database; starts a worker, beat, the API and Flower with
prefixed output; stops everything on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import redis

from app.accounts.service import FIRST_ADMIN, ensure_first_admin
from app.cli.embedded_redis import RedisServer, free_port
from app.config import ROOT, VAR_DIR, get_settings
from app.core import names
from app.core.db import session_scope
from app.core.exposure import EX_CONFIG, refusal

COLORS = ["36", "33", "35", "32", "34", "31"]


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _pump(name: str, color: str, proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    prefix = f"\033[{color}m{name:>7} |\033[0m " if sys.stdout.isatty() else f"{name:>7} | "
    for raw in iter(proc.stdout.readline, b""):
        sys.stdout.write(prefix + raw.decode(errors="replace"))
        sys.stdout.flush()


class Stack:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.redis: RedisServer | None = None

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        color = COLORS[len(self.procs) % len(COLORS)]
        threading.Thread(target=_pump, args=(name, color, proc), daemon=True).start()
        self.procs.append((name, proc))

    def stop(self) -> None:
        """Warm shutdown: SIGTERM to each main process only, so the Celery worker lets its
        running items finish; a second Ctrl-C (or SIGTERM) kills whatever is left at once."""
        for _name, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        try:
            if any(proc.poll() is None for name, proc in self.procs if name == "worker"):
                print("Waiting for running items to finish (Ctrl-C again to stop at once)...",
                      flush=True)
            for _name, proc in self.procs:
                proc.wait()
        except KeyboardInterrupt:
            print("Stopping at once; interrupted items are retried on the next start.")
        finally:
            for _name, proc in self.procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # pool children and stragglers
            if self.redis is not None:
                self.redis.stop()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="trustagency up",
        description="Start Redis (if none answers), a worker, beat, the API and Flower; "
        "Ctrl-C stops them all.",
    )
    settings = get_settings()
    parser.add_argument("--concurrency", type=int, default=settings.celery_concurrency,
                        help="worker slots (default CELERY_CONCURRENCY, 4)")
    parser.add_argument("--pool", default=settings.celery_pool,
                        help="worker pool: prefork, threads, ... (default CELERY_POOL, prefork)")
    parser.add_argument("--no-beat", action="store_true", help="do not start celery beat")
    parser.add_argument("--no-flower", action="store_true", help="do not start Flower")
    parser.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Both, explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    settings = get_settings()
    refused = refusal(settings)  # before anything starts (app/core/exposure.py)
    if refused is not None:
        print(refused, file=sys.stderr)
        return EX_CONFIG
    env = dict(os.environ)
    stack = Stack()
    python = sys.executable

    if _answers(settings.celery_broker_url):
        print(f"Using the Redis at {settings.celery_broker_url}")
    else:
        port = urlsplit(settings.celery_broker_url).port or 6379
        host = urlsplit(settings.celery_broker_url).hostname
        if host not in ("localhost", "127.0.0.1") or not _port_free(port):
            port = free_port()
        print(f"No Redis answers at {settings.celery_broker_url}: starting an embedded "
              f"redis-server on 127.0.0.1:{port} (data in var/redis)")
        stack.redis = RedisServer(VAR_DIR / "redis", port=port, persistent=True).start()
        base = stack.redis.url
        env.update(CELERY_BROKER_URL=_with_db(base, 0), CELERY_RESULT_BACKEND=_with_db(base, 1),
                   REDIS_URL=_with_db(base, 0))
    if not env.get("FLOWER_BASIC_AUTH") and not settings.flower_basic_auth:
        env["FLOWER_BASIC_AUTH"] = f"admin:{secrets.token_urlsafe(9)}"
    if not env.get("PROMETHEUS_MULTIPROC_DIR") and not settings.prometheus_multiproc_dir:
        # Worker processes count LLM calls in files that /metrics adds up; start empty.
        metrics_dir = VAR_DIR / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    if not args.no_migrate:
        print("Migrating the database (alembic upgrade head)")
        subprocess.run([python, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env,
                       check=True)
        with session_scope() as session:
            first_password = ensure_first_admin(session)
    else:
        first_password = None

    api = f"http://{settings.api_host}:{settings.api_port}"
    try:
        stack.spawn("worker", [python, "-m", "celery", "-A", "app.celery_app", "worker",
                               "--loglevel=INFO", f"--pool={args.pool}",
                               f"--concurrency={args.concurrency}",
                               f"--queues={','.join(names.WORKER_QUEUES)}"], env)
        if not args.no_beat:
            stack.spawn("beat", [python, "-m", "celery", "-A", "app.celery_app", "beat",
                                 "--loglevel=INFO",
                                 "--scheduler=app.worker.beat:RedBeatScheduler"], env)
        stack.spawn("api", [python, "-m", "uvicorn", "app.main:app", "--host",
                            settings.api_host, "--port", str(settings.api_port),
                            "--timeout-graceful-shutdown", "3"], env)
        flower = f"http://{settings.flower_address}:{settings.flower_port}"
        if not args.no_flower:
            stack.spawn("flower", [python, "-m", "celery", "-A", "app.celery_app", "flower",
                                   f"--address={settings.flower_address}",
                                   f"--port={settings.flower_port}"], env)
        time.sleep(2)
        user = env.get("FLOWER_BASIC_AUTH") or settings.flower_basic_auth or ""
        print(
            "\n  TrustAgency is starting. Open:\n"
            f"    page      {api}/\n"
            f"    API docs  {api}/docs\n"
            f"    health    {api}/api/health\n"
            f"    metrics   {api}/metrics\n"
            + ("" if args.no_flower else f"    Flower    {flower}/  (basic auth {user})\n")
            + f"  provider: {settings.llm_provider}"
            + (f", model {settings.openai_model} at "
               f"{settings.openai_base_url or 'https://api.openai.com/v1'}"
               if settings.llm_provider == "openai" else "")
            + (" (placeholder drafts; set OPENAI_API_KEY or OPENAI_BASE_URL for real ones)"
               if settings.llm_provider == "offline" else "")
            + (f"\n  First admin: {FIRST_ADMIN} / {first_password}  (shown once: log in on the "
               "page and change it, or create your own users)" if first_password else "")
            + "\n  Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while True:
            for name, proc in stack.procs:
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping the stack")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        stack.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
