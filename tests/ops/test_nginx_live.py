"""The shipped nginx configuration in front of a real ``relayer serve``: TLS, the request id
passed through, WebSocket upgrade on /ws, the client address from X-Forwarded-For reaching
the relayer's per-address limit, /metrics kept to private addresses, HTTP redirected."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from devnet.process import RelayerProcess, free_port, wait_until
from tests.ops.test_nginx import nginx_binary, templated_copy

pytestmark = pytest.mark.integration


@pytest.fixture
async def relayer(tmp_path: Path) -> AsyncIterator[RelayerProcess]:
    server = RelayerProcess(tmp_path / "relayer", env={
        "RELAYER_SECURITY_RATE_LIMIT_PER_IP_RATE": "0.01",
        "RELAYER_SECURITY_RATE_LIMIT_PER_IP_BURST": "2",
    })
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(tmp_path: Path, relayer: RelayerProcess) -> Iterator[tuple[int, int]]:
    """nginx on two free ports (for 80 and 443), proxying to the relayer's port."""
    nginx = nginx_binary()
    config = templated_copy(tmp_path / "nginx")
    http_port, https_port = free_port(), free_port()
    site = config.parent / "relayer.conf"
    text = site.read_text()
    text = re.sub(r"^\s*listen \[::\]:.*\n", "", text, flags=re.M)  # no IPv6 needed here
    text = (text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
            .replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{relayer.port};"))
    site.write_text(text)
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path / "nginx"), "-c", str(config),
         "-e", str(tmp_path / "nginx" / "logs" / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield http_port, https_port
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


async def test_nginx_in_front_of_the_relayer(proxy: tuple[int, int]) -> None:
    http_port, https_port = proxy
    base = f"https://127.0.0.1:{https_port}"
    async with httpx.AsyncClient(base_url=base, verify=False, timeout=5) as client:

        async def up() -> bool:
            try:
                return (await client.get("/health/live")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(up, timeout=15, what="nginx to proxy to the relayer")

        response = await client.get("/api/orders", headers={"x-request-id": "edge-42"})
        assert response.status_code == 200 and response.json()["orders"] == []
        assert response.headers["x-request-id"] == "edge-42"
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers or "nginx/" not in response.headers["server"]

        missing = await client.get("/wp-login.php")
        assert missing.status_code == 404 and missing.json()["error_code"] == "NOT_FOUND"
        assert (await client.get("/metrics")).status_code == 200  # 127.0.0.1 is allowed

        # The client address nginx forwards is the one the relayer limits (burst 2).
        spoofed = {"x-forwarded-for": "203.0.113.5"}
        for _ in range(2):
            assert (await client.get("/api/orders", headers=spoofed)).status_code == 200
        limited = await client.get("/api/orders", headers=spoofed)
        assert limited.status_code == 429 and limited.json()["details"]["limit"] == "ip"
        assert int(limited.headers["retry-after"]) >= 1
        assert (await client.get("/api/orders")).status_code == 200  # loopback: exempt

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        async with connect(f"wss://127.0.0.1:{https_port}/ws", ssl=context,
                           open_timeout=10) as ws:
            await ws.send(json.dumps({"id": 7, "method": "ping"}))
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    if message.get("id") == 7:
                        break
            assert message["result"] == "pong"
            scraped = (await client.get("/metrics")).text
            assert "relayer_websocket_connections 1.0" in scraped
            assert 'route="/api/orders",status="429"' in scraped

    async with httpx.AsyncClient(timeout=5) as plain:
        redirect = await plain.get(f"http://127.0.0.1:{http_port}/api/orders")
        assert redirect.status_code == 301
        assert redirect.headers["location"].startswith("https://")
