from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.events.types import OrderStatusChanged
from relayer.orders.status import OrderStatus
from relayer.orders.wire import AuctionWire
from tests.factories import NOW, make_settings, submission, to_json


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


async def test_orders_replayed_from_the_log_are_scheduled(tmp_path: Path,
                                                          clock: FakeClock) -> None:
    settings = make_settings(data_dir=str(tmp_path))
    sub = submission(auction=AuctionWire(start_time=NOW + 10, duration=60,
                                         initial_rate_bump=1000), deadline=NOW + 100)
    first = create_app(settings, clock=clock, run_scheduler=False)
    async with first.router.lifespan_context(first):
        entry = await first.state.relayer.desk.submit(sub)
    second = create_app(settings, clock=clock, run_scheduler=False)
    async with second.router.lifespan_context(second):
        clock.advance(10)
        assert (await second.state.decayer.tick()).started == 1
        clock.advance(90)
        assert (await second.state.decayer.tick()).expired == 1
        assert second.state.relayer.desk.get(entry.order_hash).status == "expired"


async def test_cancelled_order_is_not_expired(client: httpx.AsyncClient, app: Starlette,
                                              clock: FakeClock) -> None:
    desk = app.state.relayer.desk
    entry = await desk.submit(submission(deadline=NOW + 50))
    await desk.transition(entry.order_hash, OrderStatus.CANCELLED, reason="test")
    clock.advance(60)
    assert (await app.state.decayer.tick()).expired == 0
