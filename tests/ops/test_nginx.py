"""``nginx -t`` on the shipped configuration, with a throwaway certificate."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "nginx"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if found is None:
        if os.environ.get("REQUIRE_NGINX"):
            pytest.fail("nginx is not installed (.ci/run installs it: apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    return found


def templated_copy(tmp_path: Path) -> Path:
    """The config with the placeholder certificate, log and pid paths pointed into tmp."""
    conf = tmp_path / "conf"
    shutil.copytree(NGINX_DIR, conf)
    (tmp_path / "logs").mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=relayer.test", "-keyout", str(tmp_path / "tls.key"),
                    "-out", str(tmp_path / "tls.crt")], check=True, capture_output=True)
    tls = (conf / "tls.conf").read_text()
    assert "/etc/nginx/tls/relayer.crt" in tls and "/etc/nginx/tls/relayer.key" in tls
    (conf / "tls.conf").write_text(tls.replace("/etc/nginx/tls/relayer.crt",
                                               str(tmp_path / "tls.crt"))
                                   .replace("/etc/nginx/tls/relayer.key",
                                            str(tmp_path / "tls.key")))
    main = (conf / "nginx.conf").read_text()
    (conf / "nginx.conf").write_text(main.replace("/var/log/nginx/", f"{tmp_path}/logs/")
                                     .replace("/run/nginx.pid", f"{tmp_path}/logs/nginx.pid"))
    return conf / "nginx.conf"


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = nginx_binary()
    config = templated_copy(tmp_path)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "err.log")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_configuration_has_what_the_issue_asks() -> None:
    site = (NGINX_DIR / "relayer.conf").read_text()
    proxy = (NGINX_DIR / "proxy.conf").read_text()
    assert "listen 443 ssl" in site and "include tls.conf;" in site
    assert "proxy_set_header Upgrade $http_upgrade;" in site
    assert "proxy_set_header Connection $connection_upgrade;" in proxy
    assert "location = /ws" in site and "proxy_read_timeout" in site
    assert site.count("limit_req zone=") >= 3 and "limit_req_status 429;" in site
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in proxy
    # nginx's body limit is no looser than the relayer's own (64 KiB).
    assert "client_max_body_size 64k;" in site
