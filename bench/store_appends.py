"""The store alone: concurrent single-record appends, SQLite against PostgreSQL.

Each backend gets ``--concurrency`` tasks appending one 1.5 KB record each, as
fast as their appends return (each return is a durable commit); the figure
is appends a second, median of ``--rounds``. PostgreSQL is a throwaway server
from Debian's binaries (fsync and ``synchronous_commit`` on).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from relayer.store.base import EventStore, NewRecord
from relayer.store.postgres import PostgresEventStore
from relayer.store.sqlite import SQLiteEventStore

DATA = b"x" * 1_500


async def appends_per_second(store: EventStore, count: int, concurrency: int) -> float:
    await store.open()
    try:
        numbers = iter(range(count))

        async def worker() -> None:
            for i in numbers:
                await store.append([NewRecord(f"s{i}", 1, "Bench", DATA)])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)
    finally:
        await store.close()


async def run(rounds: int, count: int, concurrency: int, admin_url: str,
              url_of: dict[str, str]) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"SQLite": [], "PostgreSQL": []}
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            rate = await appends_per_second(SQLiteEventStore(Path(tmp) / "log.sqlite3"),
                                            count, concurrency)
        figures["SQLite"].append(rate)
        name = f"bench_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        rate = await appends_per_second(PostgresEventStore(url_of["pg"].format(name)),
                                        count, concurrency)
        figures["PostgreSQL"].append(rate)
        print(f"round {r + 1}: SQLite {figures['SQLite'][-1]:.0f}/s, "
              f"PostgreSQL {figures['PostgreSQL'][-1]:.0f}/s")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    from tests.pg import start_server

    server = start_server()
    try:
        figures = asyncio.run(run(args.rounds, args.count, args.concurrency,
                                  server.admin_url, {"pg": server.url("{}")}))
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
    for backend, rates in figures.items():
        print(f"store appends ({backend}, {args.concurrency} concurrent, 1.5 KB): "
              f"median {statistics.median(rates):.0f} appends/s")


if __name__ == "__main__":
    main()
