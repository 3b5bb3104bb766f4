from __future__ import annotations

import httpx
from starlette.applications import Starlette

from relayer.clock import FakeClock
from relayer.events.types import OrderStatusChanged
from relayer.orders.wire import AuctionWire
from tests.factories import NOW, submission, to_json


async def test_tick_starts_auctions_and_expires_orders(
    client: httpx.AsyncClient, app: Starlette, clock: FakeClock
) -> None:
    seen: list[OrderStatusChanged] = []
    app.state.relayer.bus.subscribe(OrderStatusChanged, seen.append)
    sub = submission(auction=AuctionWire(start_time=NOW + 10, duration=60,
                                         initial_rate_bump=1000), deadline=NOW + 100)
    r = await client.post("/api/orders", content=to_json(sub),
                          headers={"content-type": "application/json"})
    order_hash = r.json()["order_hash"]
    decayer = app.state.decayer

    assert (await decayer.tick()).started == 0
    clock.advance(10)
    assert (await decayer.tick()).started == 1
    assert (await client.get(f"/api/orders/{order_hash}")).json()["status"] == "active"
    clock.advance(89)
    assert (await decayer.tick()).expired == 0
    clock.advance(1)
    assert (await decayer.tick()).expired == 1
    got = (await client.get(f"/api/orders/{order_hash}")).json()
    assert (got["status"], got["status_reason"]) == ("expired", "deadline_passed")
    assert [(e.old, e.new) for e in seen] == [("pending", "active"), ("active", "expired")]
    assert (await decayer.tick()) == type(await decayer.tick())(started=0, expired=0)
