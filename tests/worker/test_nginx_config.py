"""The shipped nginx config: valid (`nginx -t`, when nginx is installed), TLS with an HTTP to
HTTPS redirect and HSTS, and only reads through to Flower's REST API."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.stack import ROOT

CONF = ROOT / "deploy" / "nginx" / "trustagency.conf"


def _location(text: str, path: str) -> str:
    start = text.index(f"location {path} {{")
    return text[start:text.index("\n    }", start)]


def test_tls_redirect_hsts_and_read_only_flower_api() -> None:
    text = CONF.read_text()
    assert re.search(r"listen 80;\s+listen \[::\]:80;\s+server_name [^;]+;\s+"
                     r"return 301 https://\$host\$request_uri;", text)
    assert "listen 443 ssl" in text and "ssl_certificate " in text
    assert 'Strict-Transport-Security "max-age=31536000' in text
    flower_api = _location(text, "/flower/api/")
    assert "limit_except GET { deny all; }" in flower_api


def test_nginx_accepts_it(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("no nginx installed (apt-get install nginx-light)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=articles.example.com", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    site = CONF.read_text().replace("/etc/ssl/trustagency/fullchain.pem", str(cert)) \
        .replace("/etc/ssl/trustagency/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; "
        f"include {tmp_path}/site.conf; }}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
