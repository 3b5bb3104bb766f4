"""What the operations and security middleware costs per request, in process.

The same ASGI request is sent through the whole application (request id,
metrics, security headers, body limit, auth, rate limit, then Starlette's own
exception handling and the router) and through a Starlette application with the
same routes and no middleware of ours; the difference is our stack's cost. Three kinds of
request to ``GET /health/live`` (the cheapest route, so the stack dominates):
anonymous from a limited address, with a bearer API key, and HMAC-signed.
Logs are at warning level, as in production benchmarks (the access line is
filtered, not rendered). Prints the median of rounds, in microseconds.

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
from tests.factories import make_settings

ROUNDS = 5
REQUESTS = 5_000
NOW = 1_763_750_000

Headers = list[tuple[bytes, bytes]]


def scope_for(headers: Headers) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/health/live", "raw_path": b"",
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("203.0.113.9", 40000), "server": ("127.0.0.1", 8080)}


async def run(app: Any, make_headers: Callable[[int], Headers]) -> float:
    """Seconds per request, over REQUESTS sequential requests."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scopes = [scope_for(make_headers(i)) for i in range(REQUESTS)]
    started = time.perf_counter()
    for scope in scopes:
        await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / REQUESTS


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
            await run(app, kinds["anonymous"])  # warm up
            plain = Starlette(routes=app.routes)
            await run(plain, kinds["anonymous"])
            bare = statistics.median([await run(plain, kinds["anonymous"])
                                      for _ in range(ROUNDS)])
            print(f"same routes, no middleware: {bare * 1e6:.1f} us/request")
            for name, make in kinds.items():
                full = statistics.median([await run(app, make) for _ in range(ROUNDS)])
                print(f"{name}: whole app {full * 1e6:.1f} us/request, "
                      f"middleware {(full - bare) * 1e6:.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
