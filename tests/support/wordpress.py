"""A real WordPress for the publishing tests: Debian's `wordpress` package served by PHP's CLI
server on the MariaDB the machine runs, one site (and one database) per test session.

`make wordpress` installs the packages (`make test` runs it first). Without them, or without a
MariaDB that `mariadb -uroot` reaches, the tests that use the `wordpress` fixture skip with a
loud note; CI has them (`make test` installs them when apt is usable).

Why each step (issue 23, "Facts checked"): Debian's own wp-config.php picks
/etc/wordpress/config-<Host>.php and 404s on any other Host, so the copy gets a plain one;
WP_ENVIRONMENT_TYPE `local` lets Application Passwords work over plain HTTP (otherwise 401
rest_not_logged_in, no hint why); WP_DEBUG off and display_errors on stderr keep PHP 8.2's
deprecation notices out of the JSON; the server runs in its own process group and is stopped by
group, or its PHP_CLI_SERVER_WORKERS keep the port.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SOURCE = Path("/usr/share/wordpress")
PHP = shutil.which("php8.2") or shutil.which("php")
MARIADB = shutil.which("mariadb") or shutil.which("mysql")
ADMIN = "editor-bot"
PHP_FLAGS = ["-d", "sendmail_path=/bin/true", "-d", "display_errors=stderr",
             "-d", "memory_limit=256M"]

CONFIG = """<?php
define('DB_NAME', '{db}');
define('DB_USER', '{db}');
define('DB_PASSWORD', '{db_password}');
define('DB_HOST', 'localhost');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_DEBUG', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
{salts}
if (!defined('ABSPATH')) {{ define('ABSPATH', __DIR__ . '/'); }}
require_once ABSPATH . 'wp-settings.php';
"""

INSTALL = """<?php
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = '{host}';
require __DIR__ . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$result = wp_install('TrustAgency test site', '{user}', 'bot@example.com', false, '',
                     wp_generate_password(24));
update_option('permalink_structure', '/%postname%/');
delete_option('rewrite_rules');
$password = WP_Application_Passwords::create_new_application_password(
    $result['user_id'], ['name' => 'trustagency tests']);
echo json_encode(['user_id' => $result['user_id'], 'password' => $password[0]]);
"""


def missing() -> str | None:
    """Why the real WordPress cannot run here, or None."""
    if not SOURCE.joinpath("wp-load.php").exists():
        return f"{SOURCE} is missing (apt-get install wordpress)"
    if PHP is None:
        return "php is missing (apt-get install php8.2-cli php8.2-mysql)"
    modules = subprocess.run([PHP, "-m"], capture_output=True, text=True).stdout
    if "mysqli" not in modules:
        return "PHP has no mysqli (apt-get install php8.2-mysql)"
    if MARIADB is None:
        return "no mariadb client"
    probe = subprocess.run([MARIADB, "-uroot", "-e", "SELECT 1"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`mariadb -uroot` cannot connect: {probe.stderr.strip()}"
    return None


def _sql(statement: str) -> None:
    assert MARIADB is not None
    subprocess.run([MARIADB, "-uroot", "-e", statement], check=True, capture_output=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WordPressSite:
    url: str
    user: str
    password: str
    root: Path
    db: str

    def api(self, route: str, *, method: str = "GET", auth: bool = True,
            **params: Any) -> httpx.Response:
        """WordPress's own REST API, to read back what we sent."""
        return httpx.request(method, f"{self.url}/wp-json{route}", params=params, timeout=30,
                             auth=(self.user, self.password) if auth else None)

    def posts(self, **params: Any) -> list[dict[str, Any]]:
        response = self.api("/wp/v2/posts", context="edit", per_page=100,
                            status="draft,pending,future,publish,private", **params)
        response.raise_for_status()
        return list(response.json())

    def term_names(self, taxonomy: str, ids: list[int]) -> set[str]:
        response = self.api(f"/wp/v2/{taxonomy}", include=",".join(map(str, ids)))
        response.raise_for_status()
        return {term["name"] for term in response.json()}

    def php(self, code: str) -> str:
        """Run PHP with WordPress loaded (options, users), e.g. switch the permalinks."""
        script = self.root / f"snippet-{secrets.token_hex(4)}.php"
        script.write_text(f"<?php\n$_SERVER['HTTP_HOST'] = '{self.url.split('//')[1]}';\n"
                          f"require __DIR__ . '/wp-load.php';\n{code}\n")
        try:
            assert PHP is not None
            done = subprocess.run([PHP, *PHP_FLAGS, str(script)], capture_output=True,
                                  text=True, timeout=60, cwd=self.root)
        finally:
            script.unlink()
        if done.returncode != 0:
            raise AssertionError(f"php failed: {done.stdout}\n{done.stderr}")
        return done.stdout


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError("php -S exited")
        try:
            if httpx.get(f"{url}/wp-json/", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"WordPress at {url} did not answer within {timeout} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def note_skip(reason: str) -> str:
    message = (f"\n*** WordPress publishing tests SKIPPED: {reason}.\n*** Run `make wordpress` "
               "(apt-get install wordpress php8.2-cli php8.2-mysql, and a MariaDB that "
               "`mariadb -uroot` reaches). CI must run them. ***\n")
    sys.stderr.write(message)
    return message


def _install(root: Path, url: str, host: str) -> str:
    assert PHP is not None
    (root / "ta-install.php").write_text(INSTALL.format(host=host, user=ADMIN))
    done = subprocess.run([PHP, *PHP_FLAGS, "ta-install.php"], cwd=root, capture_output=True,
                          text=True, timeout=120)
    (root / "ta-install.php").unlink()
    if done.returncode != 0:
        raise AssertionError(f"WordPress install failed:\n{done.stdout}\n{done.stderr}")
    return str(json.loads(done.stdout.strip().splitlines()[-1])["password"])


@dataclass
class _Database:
    name: str
    password: str


def _database() -> _Database:
    name = f"ta_wp_{secrets.token_hex(5)}"
    password = secrets.token_hex(12)
    _sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; "
         f"CREATE USER '{name}'@'localhost' IDENTIFIED BY '{password}'; "
         f"GRANT ALL ON `{name}`.* TO '{name}'@'localhost';")
    return _Database(name, password)


def _drop(db: _Database) -> None:
    _sql(f"DROP DATABASE IF EXISTS `{db.name}`; DROP USER IF EXISTS '{db.name}'@'localhost';")


def run_site() -> Iterator[WordPressSite]:
    """Copy, configure, install and serve a WordPress; everything removed afterwards."""
    assert PHP is not None
    port = _free_port()
    host = f"127.0.0.1:{port}"
    url = f"http://{host}"
    db = _database()
    root = Path(tempfile.mkdtemp(prefix="ta-wordpress-")) / "site"
    server = None
    try:
        shutil.copytree(SOURCE, root, symlinks=True)
        salts = "\n".join(f"define('{key}', '{secrets.token_hex(32)}');" for key in (
            "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT",
            "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"))
        (root / "wp-config.php").write_text(CONFIG.format(
            db=db.name, db_password=db.password, url=url, salts=salts))
        password = _install(root, url, host)
        log = open(root.parent / "php-server.log", "ab")  # noqa: SIM115 - closed with it
        server = subprocess.Popen([PHP, *PHP_FLAGS, "-S", host, "-t", str(root)], cwd=root,
                                  env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_ready(url, server)
        yield WordPressSite(url=url, user=ADMIN, password=password, root=root, db=db.name)
    finally:
        if server is not None:
            _stop(server)
        _drop(db)
        shutil.rmtree(root.parent, ignore_errors=True)
