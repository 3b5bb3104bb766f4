"""Rate limits: 429 with Retry-After per address and per key, recovering as the clock moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.security.keys import NewKey, generate_key
from relayer.security.principal import Scope
from relayer.security.ratelimit import RateLimiter
from tests.factories import make_settings


@pytest.fixture
def key() -> NewKey:
    return generate_key(frozenset({Scope.READ}))


@pytest.fixture
async def limited_app(tmp_path: Path, clock: FakeClock, key: NewKey
                      ) -> AsyncIterator[Starlette]:
    path = tmp_path / "keys.jsonl"
    path.write_text(key.stored.to_line() + "\n")
    settings = make_settings(data_dir=str(tmp_path), **{
        "security.api_keys_file": str(path),
        "security.rate_limit.per_ip_rate": 1.0, "security.rate_limit.per_ip_burst": 3,
        "security.rate_limit.per_key_rate": 0.5, "security.rate_limit.per_key_burst": 2,
        "security.rate_limit.exempt_networks": [],
    })
    app = create_app(settings, clock=clock, run_scheduler=False)
    async with app.router.lifespan_context(app):
        yield app


def client_from(app: Starlette, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 40000)),
                             base_url="http://relayer")


def assert_limited(response: httpx.Response, retry_after: int, limit: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(retry_after)
    assert response.json() == {
        "error_code": "RATE_LIMITED", "message": response.json()["message"],
        "details": {"retry_after": retry_after, "limit": limit}}


async def test_per_address_limit_answers_429_and_recovers(limited_app: Starlette,
                                                          clock: FakeClock) -> None:
    async with client_from(limited_app, "203.0.113.7") as c, \
            client_from(limited_app, "203.0.113.8") as other:
        for _ in range(3):
            assert (await c.get("/api/orders")).status_code == 200
        assert_limited(await c.get("/api/orders"), 1, "ip")
        # Another address has its own bucket; probes and metrics are never limited.
        assert (await other.get("/api/orders")).status_code == 200
        for path in ("/health/live", "/health/ready", "/health", "/metrics"):
            assert (await c.get(path)).status_code == 200, path
        clock.advance(0.5)
        assert_limited(await c.get("/api/orders"), 1, "ip")
        clock.advance(0.5)
        assert (await c.get("/api/orders")).status_code == 200
        assert_limited(await c.get("/api/orders"), 1, "ip")
        clock.advance(10)  # refills only up to the burst
        for _ in range(3):
            assert (await c.get("/api/orders")).status_code == 200
        assert (await c.get("/api/orders")).status_code == 429


async def test_per_key_limit_is_separate_from_the_address(limited_app: Starlette,
                                                         clock: FakeClock, key: NewKey) -> None:
    auth = {"authorization": f"Bearer {key.api_key}"}
    async with client_from(limited_app, "203.0.113.9") as c:
        for _ in range(3):
            assert (await c.get("/api/orders")).status_code == 200
        assert (await c.get("/api/orders")).status_code == 429
        # The key's own bucket: two requests, then one every two seconds.
        for _ in range(2):
            assert (await c.get("/api/orders", headers=auth)).status_code == 200
        assert_limited(await c.get("/api/orders", headers=auth), 2, "key")
        clock.advance(1)
        assert_limited(await c.get("/api/orders", headers=auth), 1, "key")
        clock.advance(1)
        assert (await c.get("/api/orders", headers=auth)).status_code == 200
    # The same key from another address shares the key's bucket.
    async with client_from(limited_app, "198.51.100.1") as c:
        assert (await c.get("/api/orders", headers=auth)).status_code == 429


async def test_loopback_is_exempt_by_default(client: httpx.AsyncClient) -> None:
    for _ in range(100):
        assert (await client.get("/api/orders")).status_code == 200


def test_limiter_forgets_idle_buckets_to_stay_bounded() -> None:
    clock = FakeClock(0)
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock, max_keys=4)
    for host in ("a", "b", "c", "d"):
        assert limiter.take(host) == 0.0
    clock.advance(5)  # everyone is full again: idle
    assert limiter.take("e") == 0.0
    assert len(limiter) == 1
    for host in ("f", "g", "h"):
        limiter.take(host)
    assert limiter.take("i") == 0.0  # all active: the older half goes
    assert len(limiter) <= 4
    clock.set(-10)  # a clock stepping back never refills
    assert limiter.take("i") == 0.0
    assert limiter.take("i") == pytest.approx(1.0)


def overrides(**values: Any) -> dict[str, Any]:
    return values
