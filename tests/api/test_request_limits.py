"""Request heads, query strings and methods: every oversized or unknown thing gets a clear
4xx with an ``error_code``, from the app under any server and from ``relayer serve``'s own
HTTP protocol while the bytes are still arriving."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.clock import FakeClock
from tests.api.ws.conftest import Serve
from tests.factories import make_settings

HEAD_LIMIT = 4_096


@pytest.fixture
async def small(tmp_path: Path, clock: FakeClock
                ) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(make_settings(data_dir=str(tmp_path), limits={
        "header_count": 20, "header_bytes": HEAD_LIMIT, "query_bytes": 512}),
        clock=clock, run_scheduler=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as client:
            yield app, client


def metric(app: Starlette, name: str, **labels: str) -> float:
    value = app.state.relayer.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)


async def test_headers_over_the_limits_get_431_from_the_app(
        small: tuple[Starlette, httpx.AsyncClient]) -> None:
    app, client = small
    assert (await client.get("/api/orders")).status_code == 200
    many = [(f"x-h{i}", "1") for i in range(25)]
    response = await client.get("/api/orders", headers=many)
    assert response.status_code == 431
    body = response.json()
    assert body["error_code"] == "HEADERS_TOO_LARGE"
    assert body["details"] == {"max_count": 20, "max_bytes": HEAD_LIMIT}
    assert response.headers["x-request-id"]  # the answer carries the request's id
    big = await client.get("/api/orders", headers={"x-pad": "a" * HEAD_LIMIT})
    assert (big.status_code, big.json()["error_code"]) == (431, "HEADERS_TOO_LARGE")
    assert metric(app, "relayer_request_limit_refusals_total", limit="header_count") == 1
    assert metric(app, "relayer_request_limit_refusals_total", limit="header_bytes") == 1


async def test_a_query_string_over_the_limit_gets_414(
        small: tuple[Starlette, httpx.AsyncClient]) -> None:
    app, client = small
    assert (await client.get("/api/orders", params={"maker_asset": "x" * 400})
            ).status_code == 400  # under the limit: the route decides
    response = await client.get("/api/orders", params={"maker_asset": "x" * 600})
    assert (response.status_code, response.json()["error_code"]) == (414, "QUERY_TOO_LONG")
    assert response.json()["details"] == {"max_bytes": 512}
    assert metric(app, "relayer_request_limit_refusals_total", limit="query_bytes") == 1


async def test_a_405_names_every_method_of_the_path(
        small: tuple[Starlette, httpx.AsyncClient]) -> None:
    _, client = small
    for method, path, allowed in (
            ("PUT", "/api/orders", "GET, POST"),
            ("PATCH", "/api/orders/0x" + "ab" * 32, "DELETE, GET"),
            ("PUT", "/api/orders/0x" + "ab" * 32 + "/secrets", "GET, POST"),
            ("POST", "/health/live", "GET"),
            ("DELETE", "/api/webhooks", "GET, POST")):
        response = await client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed, (method, path)
        assert response.json()["error_code"] == "METHOD_NOT_ALLOWED"
        assert response.json()["details"] == {"allowed": allowed.split(", ")}


async def raw_exchange(port: int, head: bytes, *, trickle: int = 0,
                       pad: int = 0) -> tuple[bytes, bool]:
    """Send ``head`` (then ``pad`` more header bytes, ``trickle`` bytes at a time) and
    read the answer to the end; the answer and whether the connection was reset."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    reset = False
    try:
        writer.write(head)
        sent = 0
        while sent < pad:
            writer.write(b"a" * trickle)
            sent += trickle
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionResetError, BrokenPipeError):
                break
        answer = b""
        try:
            async with asyncio.timeout(10):
                while chunk := await reader.read(65_536):
                    answer += chunk
        except ConnectionResetError:
            reset = True
        return answer, reset
    finally:
        writer.close()


async def test_serve_refuses_a_huge_header_while_it_arrives(serve: Serve) -> None:
    async with serve(limits={"header_bytes": 8_192}) as served:
        port = int(served.url.split(":")[2].split("/")[0])
        head = b"GET /api/orders HTTP/1.1\r\nHost: x\r\nX-Pad: "
        started = time.monotonic()
        answer, reset = await raw_exchange(port, head, trickle=65_536, pad=16 * 1_048_576)
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 431 Request Header Fields Too Large", answer[:200]
        assert not reset
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert body["error_code"] == "HEADERS_TOO_LARGE"
        assert body["details"]["max_bytes"] == 8_192
        assert time.monotonic() - started < 10
        # Liveness kept answering, and the refusal was counted.
        assert (await served.http.get("/health/live")).status_code == 200
        metrics = (await served.http.get("/metrics")).text
        assert 'relayer_request_limit_refusals_total{limit="header_bytes"} 1.0' in metrics


async def test_serve_refuses_too_many_header_lines(serve: Serve) -> None:
    async with serve(limits={"header_count": 10}) as served:
        port = int(served.url.split(":")[2].split("/")[0])
        lines = b"".join(b"X-H%d: 1\r\n" % i for i in range(11))
        answer, reset = await raw_exchange(
            port, b"GET /api/orders HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b'"HEADERS_TOO_LARGE"' in answer and not reset
        ok, _ = await raw_exchange(port, b"GET /api/orders HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200 ")


async def test_serve_keeps_serving_pipelined_requests_under_the_limit(serve: Serve) -> None:
    async with serve(limits={"header_bytes": 2_048, "query_bytes": 1_024}) as served:
        port = int(served.url.split(":")[2].split("/")[0])
        one = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 1_500 + b"\r\n\r\n"
        last = b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        answer, reset = await raw_exchange(port, one * 5 + last)
        assert answer.count(b"HTTP/1.1 200 ") == 6 and not reset
