from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.auction import AuctionDetails, AuctionPoint, rate_bump, taking_amount
from relayer.clock import FakeClock
from relayer.orders.events import OrderStatusChanged
from relayer.orders.signer import cancel_digest_of, sign_evm
from relayer.orders.status import OrderStatus
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import AuctionWire, CancelWire
from relayer.pricing.events import PricesUpdated, PriceUpdated
from tests.factories import EVM_MAKER_KEY, NOW, make_settings, submission, to_json

DETAILS = AuctionDetails(start_time=NOW, duration=180, initial_rate_bump=500_000,
                         points=(AuctionPoint(250_000, 60),))


def cancel_wire(validator: OrderValidator, order_hash: str) -> CancelWire:
    return CancelWire(signature=sign_evm(cancel_digest_of(validator, order_hash), EVM_MAKER_KEY))


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
    decayer = app.state.parts.decayer

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
        assert (await second.state.parts.decayer.tick()).started == 1
        clock.advance(90)
        assert (await second.state.parts.decayer.tick()).expired == 1
        assert second.state.relayer.desk.get(entry.order_hash).status == "expired"


async def test_cancelled_order_is_not_expired(client: httpx.AsyncClient, app: Starlette,
                                              clock: FakeClock) -> None:
    desk = app.state.relayer.desk
    entry = await desk.submit(submission(deadline=NOW + 50))
    await desk.transition(entry.order_hash, OrderStatus.CANCELLED, reason="test")
    clock.advance(60)
    assert (await app.state.parts.decayer.tick()).expired == 0


async def test_tick_publishes_a_price_only_when_the_taking_amount_changes(
    client: httpx.AsyncClient, app: Starlette, clock: FakeClock
) -> None:
    prices: list[PriceUpdated] = []
    batches: list[PricesUpdated] = []

    def collect(batch: PricesUpdated) -> None:
        batches.append(batch)
        prices.extend(batch.updates())

    app.state.relayer.bus.subscribe(PricesUpdated, collect)
    desk = app.state.relayer.desk
    moving = await desk.submit(submission(salt="1"))
    # A minimum of 3 units: every bump below 50 % rounds to the same taking amount.
    flat = await desk.submit(submission(salt="2", taking_amount="3"))
    decayer = app.state.parts.decayer

    assert (await decayer.tick()).prices == 2  # first prices of new orders
    assert {p.order_hash: p.taking_amount for p in prices} == {
        moving.order_hash: taking_amount(190_000_000, DETAILS, NOW), flat.order_hash: 4}
    prices.clear()
    for second in range(1, 180):
        clock.advance(1)
        await decayer.tick()
        (price,) = prices
        assert (price.order_hash, price.at, price.rate_bump, price.taking_amount,
                price.base_fee) == (
            moving.order_hash, NOW + second, rate_bump(DETAILS, NOW + second),
            taking_amount(190_000_000, DETAILS, NOW + second), 0)
        assert decayer.price(moving.order_hash) == price
        prices.clear()
    clock.advance(1)  # the auction's end: both fall to their minimum
    assert (await decayer.tick()).prices == 2
    assert {p.order_hash: p.taking_amount for p in prices} == {
        moving.order_hash: 190_000_000, flat.order_hash: 3}
    prices.clear()
    clock.advance(100)
    assert (await decayer.tick()).prices == 0 and prices == []
    got = (await client.get(f"/api/orders/{moving.order_hash}")).json()
    assert got["price"]["taking_amount"] == "190000000"


async def test_terminal_orders_leave_the_price_board(app: Starlette, clock: FakeClock,
                                                     validator: OrderValidator) -> None:
    desk = app.state.relayer.desk
    decayer = app.state.parts.decayer
    entry = await desk.submit(submission())
    await decayer.tick()
    assert len(decayer.board) == 1
    await desk.cancel(entry.order_hash, cancel_wire(validator, entry.order_hash))
    assert len(decayer.board) == 0
    clock.advance(1)
    assert (await decayer.tick()).prices == 0
    assert decayer.price(entry.order_hash) is None


async def test_a_large_tick_goes_out_in_slices_and_only_the_last_is_marked(
    app: Starlette, clock: FakeClock
) -> None:
    batches: list[PricesUpdated] = []
    app.state.relayer.bus.subscribe(PricesUpdated, batches.append)
    decayer = app.state.parts.decayer
    details = AuctionDetails(start_time=NOW - 10, duration=3600, initial_rate_bump=1_000_000)
    hashes = [f"0x{i:064x}" for i in range(1_200)]
    for h in hashes:  # the tick prices what the board tracks; no order needs to exist
        decayer.board.track(h, 10**18, details)

    for tick in range(3):
        batches.clear()
        result = await decayer.tick()
        assert result.prices == 1_200
        assert len(batches) >= 3  # slices of 500: several bus events, not one per order
        assert [b.last for b in batches] == [False] * (len(batches) - 1) + [True]
        assert sorted(h for b in batches for h in b.order_hashes) == hashes
        t = NOW + tick
        assert {(b.at, b.base_fee) for b in batches} == {(t, 0)}
        for b in batches:
            assert list(b.taking_amounts) == [taking_amount(10**18, details, t)] * b.count
            assert list(b.rate_bumps) == [rate_bump(details, t)] * b.count
        clock.advance(1)
