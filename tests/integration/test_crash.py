"""kill -9 the server while clients stream submissions; every acknowledged order survives
exactly once and nothing unacknowledged is half-present."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from devnet.process import RelayerProcess
from relayer.orders.events import OrderSubmitted
from tests.factories import submission, to_json

pytestmark = pytest.mark.integration

ORDERS = 600
KILL_AFTER_ACKS = 150
WORKERS = 16


async def test_kill_9_during_submissions(tmp_path: Path) -> None:
    now = int(time.time())
    subs = [submission("eth_to_ada" if i % 4 else "ada_to_eth", now=now, salt=str(i))
            for i in range(ORDERS)]
    bodies = [to_json(s) for s in subs]
    hashes: list[str] = [""] * ORDERS
    acked: set[int] = set()
    attempted: set[int] = set()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(ORDERS):
        queue.put_nowait(i)

    server = RelayerProcess(tmp_path)
    await server.start()
    killed = asyncio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        while not killed.is_set() and not queue.empty():
            i = queue.get_nowait()
            attempted.add(i)
            try:
                r = await client.post("/api/orders", content=bodies[i],
                                      headers={"content-type": "application/json"})
            except httpx.TransportError:
                return
            assert r.status_code == 201, r.text
            hashes[i] = r.json()["order_hash"]
            acked.add(i)
            if len(acked) >= KILL_AFTER_ACKS and not killed.is_set():
                killed.set()
                server.kill9()

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            await asyncio.gather(*(worker(client) for _ in range(WORKERS)))
        assert killed.is_set()
        assert len(acked) >= KILL_AFTER_ACKS
        in_flight = attempted - acked
        assert in_flight, "the kill should land while requests are in flight"

        await server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            listed = await _list_all(client)
            listed_hashes = [o["order_hash"] for o in listed]
            assert len(listed_hashes) == len(set(listed_hashes)), "an order is listed twice"
            for i in acked:
                assert listed_hashes.count(hashes[i]) == 1
            # Anything present beyond the acknowledged ones was in flight, and is whole.
            by_hash = {o["order_hash"]: o for o in listed}
            sent = {_canonical(subs[i]): i for i in attempted}
            for order in listed:
                key = msgspec.json.encode(order["order"])
                assert key in sent, "a listed order was never sent"
            assert len(listed) <= len(attempted)
            # Resubmitting is a duplicate for everything stored, accepted for the rest.
            for i in list(acked)[:5]:
                r = await client.post("/api/orders", content=bodies[i],
                                      headers={"content-type": "application/json"})
                assert r.json()["error_code"] == "DUPLICATE_ORDER"
            for i in in_flight:
                r = await client.post("/api/orders", content=bodies[i],
                                      headers={"content-type": "application/json"})
                stored = r.json().get("order_hash") in by_hash or (
                    r.status_code == 409 and r.json()["error_code"] == "DUPLICATE_ORDER")
                assert r.status_code == 201 or stored, r.text
    finally:
        server.stop()

    conn = sqlite3.connect(tmp_path / "relayer.sqlite3")
    rows = conn.execute("SELECT type, data FROM records").fetchall()
    conn.close()
    decoder = msgspec.json.Decoder(OrderSubmitted)
    assert all(decoder.decode(data).order_hash for type_, data in rows
               if type_ == "OrderSubmitted")


def _canonical(sub: Any) -> bytes:
    """The order JSON as the relayer lists it (addresses and assets canonical)."""
    from relayer.orders.codec import order_to_wire
    from tests.factories import make_validator

    order, _ = make_validator().canonical(sub.order)
    return msgspec.json.encode(order_to_wire(order))


async def _list_all(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/orders", params=params)).json()
        orders += page["orders"]
        cursor = page["next_cursor"]
        if cursor is None:
            return orders
