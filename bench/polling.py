"""Benchmark B2: resolvers polling ``GET /api/orders?limit=100`` over 10,000 active orders.

Targets: >= 2,000 requests/s; p99 < 25 ms at 500 requests/s offered. Each
request reads a page chosen at random (first pages and deep cursors alike),
priced at the current second, from a real ``relayer serve`` child process (or,
with ``--postgres --replicas 2``, from two replicas on one PostgreSQL, each
serving half of the load and every order: a replica lists what the other took in).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from pathlib import Path

import httpx

from bench.loadgen import Figures, get, posts
from bench.orders import signed_bodies
from bench.replicas import Stores, add_arguments, closed_loop_on, open_loop_on
from devnet.process import RelayerProcess, wait_until
from tests.factories import make_validator

ORDERS = 10_000
RATE = 500


async def seed(servers: list[RelayerProcess], bodies: list[bytes]) -> list[str]:
    result = await closed_loop_on(servers, posts("/api/orders", bodies), connections=32,
                                  duration=600)
    assert result.statuses == {201: len(bodies)}, result.statuses
    for server in servers:  # each replica holds every order before the clock starts
        await wait_until(lambda s=server: _holds(s, len(bodies)), timeout=120,
                         what="every replica to list every order")
    server = servers[0]
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


async def _holds(server: RelayerProcess, orders: int) -> bool:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return int((await client.get("/health")).json()["orders"]) >= orders


async def run(rounds: int, duration: float, stores: Stores) -> Figures:
    validator = make_validator()
    bodies = signed_bodies(validator, ORDERS, salt_base=0)
    figures = Figures()
    with tempfile.TemporaryDirectory() as tmp, stores.running():
        async with stores.round(Path(tmp)) as servers:
            paths = await seed(servers, bodies)
            rng = random.Random(7)
            requests = [get(p) for p in paths]

            def next_request() -> bytes:
                return rng.choice(requests)

            page_bytes = len(httpx.get(servers[0].url + paths[0]).content)
            print(f"seeded {ORDERS} active orders; a page is {page_bytes // 1024} KiB")
            for r in range(rounds):
                sustained = await closed_loop_on(servers, next_request, connections=16,
                                                 duration=duration)
                paced = await open_loop_on(servers, next_request, rate=RATE,
                                           duration=duration)
                assert set(sustained.statuses) == {200} and set(paced.statuses) == {200}
                figures.add(r + 1, sustained, paced)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    add_arguments(parser)
    args = parser.parse_args()
    stores = Stores(args)
    figures = asyncio.run(run(args.rounds, args.duration, stores))
    figures.report(f"B2 polling ({stores.label})", "req/s", 2000, RATE, 25)


if __name__ == "__main__":
    main()
