"""The servers the HTTP benchmarks load: one ``relayer serve`` on SQLite, or several
replicas on one PostgreSQL, with the load spread evenly over them.

``--postgres`` starts a throwaway PostgreSQL from Debian's binaries (as the
tests do, durable: fsync and ``synchronous_commit`` on) with a fresh database
per round; ``--store-url`` uses a database you provide (and clean) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg

from bench.loadgen import Result, closed_loop, open_loop
from devnet.process import RelayerProcess

HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replicas", type=int, default=1,
                        help="relayer processes sharing the store (more than 1 needs PostgreSQL)")
    parser.add_argument("--postgres", action="store_true",
                        help="run the replicas on a throwaway PostgreSQL (Debian's binaries)")
    parser.add_argument("--store-url", help="a PostgreSQL URL to run the replicas on")


class Stores:
    """Where each round's servers keep their log."""

    def __init__(self, args: argparse.Namespace) -> None:
        if args.replicas > 1 and not (args.postgres or args.store_url):
            raise SystemExit("--replicas > 1 needs --postgres or --store-url")
        self._postgres = bool(args.postgres)
        self._url: str | None = args.store_url
        self.replicas: int = args.replicas
        self._server: object | None = None

    @property
    def label(self) -> str:
        kind = "PostgreSQL" if self._postgres or self._url else "SQLite"
        return f"{self.replicas} replica(s) on {kind}"

    @contextlib.contextmanager
    def running(self) -> Iterator[Stores]:
        if not self._postgres:
            yield self
            return
        from tests.pg import start_server

        server = start_server()
        self._server = server
        try:
            yield self
        finally:
            self._server = None
            server.stop()
            shutil.rmtree(server.root, ignore_errors=True)

    @contextlib.asynccontextmanager
    async def round(self, tmp: Path) -> AsyncIterator[list[RelayerProcess]]:
        """Fresh servers (and, on the throwaway PostgreSQL, a fresh database)."""
        url = self._url
        if self._server is not None:
            from tests.pg import PostgresServer

            assert isinstance(self._server, PostgresServer)
            name = f"bench_{uuid.uuid4().hex[:12]}"
            admin = await asyncpg.connect(self._server.admin_url)
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            finally:
                await admin.close()
            url = self._server.url(name)
        env = {"RELAYER_STORE_URL": url} if url else {}
        servers = [RelayerProcess(tmp / f"replica{i}", env=env) for i in range(self.replicas)]
        try:
            for server in servers:
                await server.start()
            yield servers
        finally:
            for server in servers:
                server.stop()


def merge(parts: list[Result]) -> Result:
    merged = Result(elapsed=max(p.elapsed for p in parts))
    for part in parts:
        merged.latencies += part.latencies
        for status, count in part.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + count
    return merged


async def closed_loop_on(servers: list[RelayerProcess],
                         next_request: Callable[[], bytes | None], *, connections: int,
                         duration: float) -> Result:
    """``connections`` spread evenly over the servers, all sending back to back."""
    share = max(1, connections // len(servers))
    return merge(list(await asyncio.gather(*(
        closed_loop(HOST, s.port, next_request, connections=share, duration=duration)
        for s in servers))))


async def open_loop_on(servers: list[RelayerProcess], next_request: Callable[[], bytes | None],
                       *, rate: float, duration: float) -> Result:
    """``rate`` requests a second in all, each server offered its equal share."""
    return merge(list(await asyncio.gather(*(
        open_loop(HOST, s.port, next_request, rate=rate / len(servers), duration=duration)
        for s in servers))))
