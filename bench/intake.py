"""Benchmark B1: intake of pre-signed EIP-712 orders with durable commits.

Targets: >= 1,500 orders/s sustained; p99 < 50 ms at 500 orders/s offered.
The server is a real ``relayer serve`` child process on SQLite (WAL,
synchronous=FULL); the load comes from this process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.loadgen import closed_loop, open_loop, post
from bench.orders import signed_bodies
from relayer.devnet.process import RelayerProcess
from tests.factories import make_validator


async def run(rounds: int, duration: float) -> dict[str, list[float]]:
    validator = make_validator()
    per_round = int(3_000 * duration) + int(500 * duration) + 100
    figures: dict[str, list[float]] = {"throughput": [], "p99_at_500": [], "p50_at_500": []}
    for r in range(rounds):
        bodies = signed_bodies(validator, per_round, salt_base=r * 10_000_000)
        with tempfile.TemporaryDirectory() as tmp:
            server = RelayerProcess(Path(tmp))
            await server.start()
            try:
                next_request = _requests(bodies)

                sustained = await closed_loop("127.0.0.1", server.port, next_request,
                                              connections=32, duration=duration)
                paced = await open_loop("127.0.0.1", server.port, next_request,
                                        rate=500, duration=duration)
            finally:
                server.stop()
        assert set(sustained.statuses) == {201}, sustained.statuses
        assert set(paced.statuses) == {201}, paced.statuses
        print(f"round {r + 1}: sustained {sustained.summary()}")
        print(f"round {r + 1}: at 500/s   {paced.summary()}")
        figures["throughput"].append(sustained.rate())
        figures["p99_at_500"].append(paced.percentile(99) * 1000)
        figures["p50_at_500"].append(paced.percentile(50) * 1000)
    return figures


def _requests(bodies: list[bytes]) -> Callable[[], bytes | None]:
    it = iter(bodies)

    def next_request() -> bytes | None:
        body = next(it, None)
        return None if body is None else post("/api/orders", body)

    return next_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    import statistics

    figures = asyncio.run(run(args.rounds, args.duration))
    print(f"B1 intake: median sustained {statistics.median(figures['throughput']):.0f} orders/s"
          f" (target >= 1500); at 500/s offered median p50"
          f" {statistics.median(figures['p50_at_500']):.1f} ms, median p99"
          f" {statistics.median(figures['p99_at_500']):.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
