from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette

from relayer.auction.gas import StaticBaseFee
from relayer.chains.events import (
    ChainPoint,
    DstComplement,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
)
from relayer.orders.events import OrderStatusChanged
from relayer.orders.status import OrderStatus
from relayer.pricing.events import PriceUpdated
from relayer.public.events import PublicEvent, PublicEvents, channel_scope, channels_of
from relayer.security.principal import Scope
from tests.factories import NOW, submission


def mapper(app: Starlette) -> PublicEvents:
    return PublicEvents(app.state.relayer.desk.book, StaticBaseFee(0))


async def test_order_lifecycle_maps_to_named_events_with_the_rest_order_json(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    public = mapper(app)
    seen: list[PublicEvent] = []
    app.state.relayer.bus.subscribe(None, lambda e: seen.extend(public.map(e)))
    desk = app.state.relayer.desk
    entry = await desk.submit(submission())
    h = entry.order_hash
    await desk.transition(h, OrderStatus.INVALID, reason="funds_dropped")
    await desk.transition(h, OrderStatus.ACTIVE, reason="funds_back")
    await desk.transition(h, OrderStatus.CANCELLED, reason="maker_cancelled")

    assert [e.event for e in seen] == ["order_created", "order_invalid", "order_updated",
                                       "order_cancelled"]
    assert all(e.channels == ("orders", f"order:{h}") for e in seen)
    assert {(e.order_hash, e.src_chain, e.dst_chain, e.maker) for e in seen} == {
        (h, "ethereum", "cardano", entry.signed.order.maker)}
    rest = (await client.get(f"/api/orders/{h}")).json()
    last = json.loads(seen[-1].data)
    assert last["status"] == "cancelled" and last["status_reason"] == "maker_cancelled"
    assert {k: v for k, v in last.items() if k != "price"} == {
        k: v for k, v in rest.items() if k != "price"}
    assert json.loads(seen[0].data)["status"] == "active"
    assert all(e.required_scope is None for e in seen)


async def test_fills_go_to_the_fills_channel_too(app: Starlette) -> None:
    public = mapper(app)
    desk = app.state.relayer.desk
    entry = await desk.submit(submission())
    event = OrderStatusChanged(order_hash=entry.order_hash, old=OrderStatus.ACTIVE,
                               new=OrderStatus.PARTIALLY_FILLED, reason="fill", at=NOW)
    (mapped,) = public.map(event)
    assert mapped.event == "order_filled_partially"
    assert mapped.channels == ("orders", f"order:{entry.order_hash}", "fills")


async def test_price_update_amounts_are_decimal_strings(app: Starlette) -> None:
    public = mapper(app)
    entry = await app.state.relayer.desk.submit(submission())
    big = 10**40 + 1
    (mapped,) = public.map(PriceUpdated(order_hash=entry.order_hash, at=NOW + 1,
                                        rate_bump=12, taking_amount=big, base_fee=7))
    assert mapped.event == "price_update"
    assert mapped.channels == ("prices", f"prices:{entry.order_hash}")
    assert json.loads(mapped.data) == {"order_hash": entry.order_hash, "at": NOW + 1,
                                       "rate_bump": 12, "taking_amount": str(big),
                                       "base_fee": "7"}


async def test_escrow_created_goes_to_the_order_and_fills(app: Starlette) -> None:
    public = mapper(app)
    entry = await app.state.relayer.desk.submit(submission())
    event = EscrowCreated(
        role=EscrowRole.SRC, escrow="0x" + "ab" * 20,
        immutables=EscrowImmutables(
            order_hash=entry.order_hash, hashlock="0x" + "11" * 32,
            maker="0x" + "22" * 20, taker="0x" + "33" * 20, token="0x" + "44" * 20,
            amount=2**200, safety_deposit=5, timelocks=2**255),
        complement=DstComplement(maker="addr", amount=99, token="lovelace", safety_deposit=1,
                                 chain_id=1),
        point=ChainPoint(chain="ethereum", height=10, slot=10, block_id="0x" + "55" * 32,
                         timestamp=NOW, tx_id="0x" + "66" * 32, index=0))
    (mapped,) = public.map(event)
    assert mapped.event == "escrow_created"
    assert mapped.channels == (f"order:{entry.order_hash}", "fills")
    assert mapped.required_scope is None
    data = json.loads(mapped.data)
    assert (data["amount"], data["timelocks"], data["dst_amount"]) == (
        str(2**200), str(2**255), "99")


def test_channels_and_scopes() -> None:
    assert channels_of("secret_shared", "0xab") == ("secrets",)
    assert channel_scope("secrets") is Scope.SECRETS
    assert channel_scope("actions") is Scope.READ
    assert channel_scope("fills") is Scope.READ
    assert channel_scope("orders") is None and channel_scope("prices:0xab") is None
    event = PublicEvent(event="secret_shared", channels=("secrets",), data=b"{}",
                        order_hash=None, src_chain=None, dst_chain=None, maker=None, at=0)
    assert event.required_scope is Scope.SECRETS
