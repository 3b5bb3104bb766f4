"""Two ``relayer serve`` processes on one PostgreSQL: fan-out, leader failover, migrate.

Each replica has its own data directory and port; they share only the
database. The leader is whichever replica holds the advisory lock; the tests
find it through ``/health``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from devnet.process import RelayerProcess, wait_until
from relayer.orders.wire import AuctionWire
from tests.factories import submission, to_json

pytestmark = pytest.mark.integration

TAKEOVER = 3.0
TIMEOUT = 15.0


def replica_env(pg_url: str) -> dict[str, str]:
    return {"RELAYER_STORE_URL": pg_url,
            "RELAYER_STORE_LEADER_TAKEOVER_SECONDS": str(TAKEOVER),
            "RELAYER_AUCTION_TICK_SECONDS": "0.2"}


@pytest.fixture
async def replicas(pg_url: str, tmp_path: Path) -> AsyncIterator[list[RelayerProcess]]:
    """Two replicas started at the same moment on one empty database."""
    servers = [RelayerProcess(tmp_path / name, env=replica_env(pg_url)) for name in "ab"]
    try:
        await asyncio.gather(*(s.start() for s in servers))
        yield servers
    finally:
        for server in servers:
            server.stop()


async def health(server: RelayerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        body: dict[str, Any] = (await http.get("/health")).json()
        return body


async def roles(servers: list[RelayerProcess]) -> list[str]:
    return [(await health(s))["replica"]["role"] for s in servers]


async def leader_and_follower(servers: list[RelayerProcess]
                              ) -> tuple[RelayerProcess, RelayerProcess]:
    async def one_leader() -> bool:
        return sorted(await roles(servers)) == ["follower", "leader"]

    await wait_until(one_leader, timeout=TIMEOUT, what="one leader and one follower")
    found = await roles(servers)
    return servers[found.index("leader")], servers[found.index("follower")]


def order(start_in: int = 0, salt: int = 1) -> bytes:
    """A signed order whose auction starts ``start_in`` seconds from now."""
    now = int(time.time())
    auction = AuctionWire(start_time=now + start_in, duration=180, initial_rate_bump=500_000,
                          points=[])
    return to_json(submission(now=now, salt=str(salt), auction=auction))


async def submit(server: RelayerProcess, body: bytes) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.post("/api/orders", content=body,
                            headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


class OrdersFeed:
    """A WebSocket client subscribed to the ``orders`` channel of one replica."""

    def __init__(self, ws: ClientConnection, seq: int) -> None:
        self.ws = ws
        self.start_seq = seq
        self.messages: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, server: RelayerProcess, stack: Any) -> OrdersFeed:
        ws = await stack.enter_async_context(
            connect(server.url.replace("http", "ws") + "/ws", open_timeout=TIMEOUT))
        await ws.send(json.dumps({"id": 1, "method": "subscribe",
                                  "params": {"channel": "orders"}}))
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == 1:
                    return cls(ws, message["result"]["seq"])

    async def until(self, event: str, order_hash: str, status: str | None = None) -> None:
        """Read channel messages until ``event`` for ``order_hash`` arrives."""
        def seen() -> bool:
            return any(m["event"] == event and m["data"]["order_hash"] == order_hash
                       and (status is None or m["data"]["status"] == status)
                       for m in self.messages)

        async with asyncio.timeout(TIMEOUT):
            while not seen():
                message = json.loads(await self.ws.recv())
                if message.get("channel") == "orders" and message["event"] != "snapshot":
                    self.messages.append(message)

    def check_once_in_order(self) -> None:
        seqs = [m["seq"] for m in self.messages]
        assert seqs == list(range(self.start_seq + 1, self.start_seq + 1 + len(seqs)))
        keys = [(m["event"], m["data"]["order_hash"], m["data"]["status"])
                for m in self.messages]
        assert len(keys) == len(set(keys)), f"an event arrived twice: {keys}"


async def test_an_order_submitted_to_one_replica_reaches_the_others_websocket(
        replicas: list[RelayerProcess]) -> None:
    one, other = replicas
    async with contextlib_stack() as stack:
        feeds = [await OrdersFeed.open(s, stack) for s in replicas]
        body = order()
        created = await submit(one, body)
        order_hash = created["order_hash"]
        for feed in feeds:
            await feed.until("order_created", order_hash)
            feed.check_once_in_order()
        async with httpx.AsyncClient(base_url=other.url, timeout=10) as http:
            r = await http.get(f"/api/orders/{order_hash}")
        assert r.status_code == 200 and r.json()["order_hash"] == order_hash
        status = (await health(other))["replica"]
        assert status["schema_version"] == 1 and status["shared_store"] is True
        assert status["applied_from_others"] >= 1 and status["fanout_lag"] == 0


async def test_kill_9_of_the_leader_hands_its_duties_to_the_follower(
        replicas: list[RelayerProcess]) -> None:
    leader, follower = await leader_and_follower(replicas)
    async with contextlib_stack() as stack:
        feed = await OrdersFeed.open(follower, stack)
        # The leader's auction job starts an order submitted to the follower.
        body = order(start_in=2, salt=2)
        before = (await submit(follower, body))["order_hash"]
        await feed.until("order_created", before)
        await feed.until("order_updated", before, status="active")

        leader.kill9()
        killed_at = time.monotonic()

        async def leading() -> bool:
            return (await health(follower))["replica"]["role"] == "leader"

        await wait_until(leading, timeout=TIMEOUT, what="the follower to take over")
        took = time.monotonic() - killed_at
        assert took < TAKEOVER, f"takeover took {took:.1f}s"

        # Now the survivor's own auction job starts orders.
        body = order(start_in=2, salt=3)
        after = (await submit(follower, body))["order_hash"]
        await feed.until("order_created", after)
        await feed.until("order_updated", after, status="active")
        feed.check_once_in_order()
        assert (await health(follower))["replica"]["elections"] == 1


async def test_relayer_migrate_applies_the_schema(pg_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "relayer", "migrate", "--store-url", pg_url],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "store schema at version 1"
    again = subprocess.run(
        [sys.executable, "-m", "relayer", "migrate", "--store-url", pg_url],
        capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "version 1" in again.stdout


def contextlib_stack() -> Any:
    import contextlib

    return contextlib.AsyncExitStack()
