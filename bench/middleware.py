"""What the operations and security middleware costs per request, in process.

The same ASGI request is sent through the whole application (request id,
metrics, security headers, body limit, auth, rate limit, then Starlette's own
exception handling and the router) and through a Starlette application with the
same routes and no middleware of ours; the difference is our stack's cost. Three kinds of
request to ``GET /health/live`` (the cheapest route, so the stack dominates):
anonymous from a limited address, with a bearer API key, and HMAC-signed; then
the B2 request, ``GET /api/orders?limit=100`` over 1,000 active orders, anonymous.
Logs are at warning level, as in production benchmarks (the access line is
filtered, not rendered). Rounds alternate between the two apps; prints the
best (min) and median round of each, in microseconds per request.

    .venv/bin/python -m bench.middleware
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import structlog
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.security.keys import generate_key, signing_secret
from relayer.security.principal import Scope
from relayer.security.signing import signed_headers
from tests.factories import make_settings, make_validator, submission

ROUNDS = 7
REQUESTS = 5_000
ORDERS = 1_000
NOW = 1_763_750_000

Headers = list[tuple[bytes, bytes]]


def scope_for(headers: Headers, path: str = "/health/live",
              query: bytes = b"") -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": b"",
            "query_string": query, "root_path": "", "headers": headers,
            "client": ("203.0.113.9", 40000), "server": ("127.0.0.1", 8080)}


async def run(app: Any, make_headers: Callable[[int], Headers], path: str = "/health/live",
              query: bytes = b"", requests: int = REQUESTS) -> float:
    """Seconds per request, over REQUESTS sequential requests."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scopes = [scope_for(make_headers(i), path, query) for i in range(requests)]
    started = time.perf_counter()
    for scope in scopes:
        await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / requests


async def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    key = generate_key(frozenset({Scope.READ}), signing=True)
    secret = signing_secret(key.api_key)
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = f"{tmp}/keys.jsonl"
        with open(keys_file, "w") as f:
            f.write(key.stored.to_line() + "\n")
        settings = make_settings(data_dir=tmp, **{
            "security.api_keys_file": keys_file,
            "security.rate_limit.per_ip_rate": 1e9, "security.rate_limit.per_ip_burst": 10**9,
            "security.rate_limit.per_key_rate": 1e9,
            "security.rate_limit.per_key_burst": 10**9,
        })
        app = create_app(settings, clock=FakeClock(NOW), run_scheduler=False)
        kinds: dict[str, Callable[[int], Headers]] = {
            "anonymous": lambda i: [],
            "bearer key": lambda i: [(b"authorization", f"Bearer {key.api_key}".encode())],
            "signed": lambda i: [(k.encode(), v.encode()) for k, v in signed_headers(
                key.stored.key_id, secret, "GET", "/health/live", timestamp=NOW,
                nonce=f"bench-nonce-{i:012d}-{time.perf_counter_ns()}").items()],
        }
        async with app.router.lifespan_context(app):
            plain = Starlette(routes=app.routes)
            for name, make in kinds.items():
                report(name, *await compare(plain, app, make))
            desk = app.state.relayer.desk
            validator = make_validator()
            for i in range(ORDERS):
                await desk.submit(submission(validator=validator, now=NOW, salt=str(i + 1)))
            report("page of 100 orders", *await compare(
                plain, app, kinds["anonymous"], "/api/orders", b"limit=100", 1_000))


async def compare(plain: Any, app: Any, make: Callable[[int], Headers],
                  *request: Any) -> tuple[list[float], list[float]]:
    """Rounds alternate between the two apps, so load on the machine hits both alike."""
    await run(plain, make, *request)
    await run(app, make, *request)
    bare, full = [], []
    for _ in range(ROUNDS):
        bare.append(await run(plain, make, *request))
        full.append(await run(app, make, *request))
    return bare, full


def report(name: str, bare: list[float], full: list[float]) -> None:
    us = 1e6
    print(f"{name}: without our middleware min {min(bare) * us:.1f} / median "
          f"{statistics.median(bare) * us:.1f} us; whole app min {min(full) * us:.1f} / "
          f"median {statistics.median(full) * us:.1f} us; middleware (min - min) "
          f"{(min(full) - min(bare)) * us:.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
