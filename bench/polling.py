"""Benchmark B2: resolvers polling ``GET /api/orders?limit=100`` over 10,000 active orders.

Targets: >= 2,000 requests/s; p99 < 25 ms at 500 requests/s offered. Each
request reads a page chosen at random (first pages and deep cursors alike),
priced at the current second, from a real ``relayer serve`` child process.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from pathlib import Path

import httpx

from bench.loadgen import Figures, closed_loop, get, open_loop, posts
from bench.orders import signed_bodies
from relayer.devnet.process import RelayerProcess
from tests.factories import make_validator

ORDERS = 10_000
RATE = 500


async def seed(server: RelayerProcess, bodies: list[bytes]) -> list[str]:
    result = await closed_loop("127.0.0.1", server.port, posts("/api/orders", bodies),
                               connections=32, duration=600)
    assert result.statuses == {201: len(bodies)}, result.statuses
    paths = ["/api/orders?limit=100"]
    async with httpx.AsyncClient(base_url=server.url) as client:
        while True:
            page = (await client.get(paths[-1])).json()
            assert all(o["status"] == "active" for o in page["orders"])
            if page["next_cursor"] is None:
                break
            paths.append(f"/api/orders?limit=100&cursor={page['next_cursor']}")
    assert len(paths) == ORDERS // 100, len(paths)
    return paths


async def run(rounds: int, duration: float) -> Figures:
    validator = make_validator()
    bodies = signed_bodies(validator, ORDERS, salt_base=0)
    figures = Figures()
    with tempfile.TemporaryDirectory() as tmp:
        server = RelayerProcess(Path(tmp))
        await server.start()
        try:
            paths = await seed(server, bodies)
            rng = random.Random(7)
            requests = [get(p) for p in paths]

            def next_request() -> bytes:
                return rng.choice(requests)

            page_bytes = len(httpx.get(server.url + paths[0]).content)
            print(f"seeded {ORDERS} active orders; a page is {page_bytes // 1024} KiB")
            for r in range(rounds):
                sustained = await closed_loop("127.0.0.1", server.port, next_request,
                                              connections=16, duration=duration)
                paced = await open_loop("127.0.0.1", server.port, next_request, rate=RATE,
                                        duration=duration)
                assert set(sustained.statuses) == {200} and set(paced.statuses) == {200}
                figures.add(r + 1, sustained, paced)
        finally:
            server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args.rounds, args.duration))
    figures.report("B2 polling", "req/s", 2000, RATE, 25)


if __name__ == "__main__":
    main()
