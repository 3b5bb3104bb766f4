"""Request ids, security headers and CORS on the real app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from structlog.testing import capture_logs

from relayer.api.app import create_app
from relayer.clock import FakeClock
from tests.factories import make_settings, submission, to_json

JSON = {"content-type": "application/json"}
ORIGIN = "https://wallet.example"


async def test_request_id_is_taken_or_made_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/orders", headers={"x-request-id": "lb-1234.abc:9"})
    assert response.headers["x-request-id"] == "lb-1234.abc:9"
    made = (await client.get("/api/orders")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert (await client.get("/api/orders")).headers["x-request-id"] != made
    # Junk (spaces, newlines for log injection, too long) is replaced, not echoed.
    for junk in ("a b", "x" * 129, "id\\nforged=1", ""):
        echoed = (await client.get("/api/orders", headers={"x-request-id": junk})
                  ).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", echoed), junk
    # Error answers carry it too: a 404, a 401 from the auth layer.
    assert (await client.get("/nope", headers={"x-request-id": "r1"})).headers[
        "x-request-id"] == "r1"
    assert (await client.get("/api/orders", headers={"x-request-id": "r2", "x-api-key": "x"})
            ).headers["x-request-id"] == "r2"


async def test_request_id_and_order_hash_are_bound_to_log_lines(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/api/orders", content=to_json(submission()), headers=JSON)
    order_hash = response.json()["order_hash"]
    with capture_logs() as logs:
        await client.get(f"/api/orders/{order_hash}", headers={"x-request-id": "req-42"})
        await client.get("/api/orders/" + "0x" + "00" * 32, headers={"x-request-id": "req-43"})
    access = [line for line in logs if line["event"] == "http_request"]
    assert access == [
        {"event": "http_request", "log_level": "info", "method": "GET",
         "route": "/api/orders/{order_hash}", "status": 200, "order_hash": order_hash,
         "duration_ms": access[0]["duration_ms"]},
        {"event": "http_request", "log_level": "info", "method": "GET",
         "route": "/api/orders/{order_hash}", "status": 404, "order_hash": "0x" + "00" * 32,
         "duration_ms": access[1]["duration_ms"]},
    ]


async def test_security_headers_on_every_answer(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/api/orders"), await client.get("/nope"),
                     await client.get("/health/live"),
                     await client.get("/api/orders", headers={"x-api-key": "bad"})):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in headers  # left to the TLS proxy by default
        assert "access-control-allow-origin" not in headers  # no CORS unless configured


async def app_with(tmp_path: Path, clock: FakeClock, **overrides: object
                   ) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(make_settings(data_dir=str(tmp_path), **overrides), clock=clock,
                                run_scheduler=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as c:
            yield c


@pytest.fixture
async def cors_client(tmp_path: Path, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async for c in app_with(tmp_path, clock, **{"security.cors.allow_origins": [ORIGIN],
                                                "security.hsts_seconds": 31536000}):
        yield c


async def test_cors_for_configured_origins_only(cors_client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options("/api/orders", headers={
        "origin": ORIGIN, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-api-key"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-max-age"] == "600"

    response = await cors_client.get("/api/orders", headers={"origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    # A refusal still carries CORS headers, so the browser shows the real error.
    refused = await cors_client.get("/api/admin/keys", headers={"origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN

    other = await cors_client.options("/api/orders", headers={
        "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    plain = await cors_client.get("/api/orders", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers
    assert plain.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
