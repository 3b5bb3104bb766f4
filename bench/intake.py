"""Benchmark B1: intake of pre-signed EIP-712 orders with durable commits.

Targets: >= 1,500 orders/s sustained; p99 < 50 ms at 500 orders/s offered.
The server is a real ``relayer serve`` child process on SQLite (WAL,
synchronous=FULL), or with ``--postgres --replicas 2`` two replicas on one
PostgreSQL, the load spread evenly; the load comes from this process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench.loadgen import Figures, posts
from bench.orders import signed_bodies
from bench.replicas import Stores, add_arguments, closed_loop_on, open_loop_on
from tests.factories import make_validator

RATE = 500


async def run(rounds: int, duration: float, stores: Stores) -> Figures:
    validator = make_validator()
    per_round = int(3_000 * duration) + int(RATE * duration) + 100
    figures = Figures()
    for r in range(rounds):
        bodies = signed_bodies(validator, per_round, salt_base=r * 10_000_000)
        with tempfile.TemporaryDirectory() as tmp:
            async with stores.round(Path(tmp)) as servers:
                next_request = posts("/api/orders", bodies)
                sustained = await closed_loop_on(servers, next_request, connections=32,
                                                 duration=duration)
                paced = await open_loop_on(servers, next_request, rate=RATE,
                                           duration=duration)
        assert set(sustained.statuses) == {201}, sustained.statuses
        assert set(paced.statuses) == {201}, paced.statuses
        figures.add(r + 1, sustained, paced)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    add_arguments(parser)
    args = parser.parse_args()
    stores = Stores(args)
    with stores.running():
        figures = asyncio.run(run(args.rounds, args.duration, stores))
    figures.report(f"B1 intake ({stores.label})", "orders/s", 1500, RATE, 50)


if __name__ == "__main__":
    main()
