from __future__ import annotations

from relayer.auction import AuctionDetails, taking_amount
from relayer.orders.status import OrderStatus
from relayer.orders.wire import AuctionWire
from relayer.pricing.events import PricesUpdated, PriceUpdated
from tests.api.ws.conftest import Serve, Served
from tests.factories import NOW, submission

LONG = AuctionWire(start_time=NOW, duration=3600, initial_rate_bump=1_000_000)
LONG_DETAILS = AuctionDetails(start_time=NOW, duration=3600, initial_rate_bump=1_000_000)
MINIMUM = 190_000_000


async def submit(served: Served, salt: int, **overrides: object) -> str:
    entry = await served.desk.submit(submission(salt=str(salt), auction=LONG, **overrides))
    return entry.order_hash


async def test_ping(serve: Serve) -> None:
    async with serve() as served, served.client() as client:
        assert await client.call("ping") == {"id": 1, "result": "pong"}


async def test_order_channel_snapshot_then_deltas_with_consecutive_seq(serve: Serve) -> None:
    async with serve() as served, served.client() as client:
        order_hash = await submit(served, 1)
        result, snapshot = await client.subscribe("order:0x" + order_hash[2:].upper())
        assert result == {"channel": f"order:{order_hash}", "seq": 0}
        assert snapshot["seq"] == 0
        rest = (await served.http.get(f"/api/orders/{order_hash}")).json()
        assert snapshot["data"] == rest

        await served.desk.transition(order_hash, OrderStatus.INVALID, reason="funds_dropped")
        await served.desk.transition(order_hash, OrderStatus.ACTIVE, reason="funds_back")
        await served.desk.transition(order_hash, OrderStatus.CANCELLED, reason="maker_cancelled")
        got = [await client.event() for _ in range(3)]
        assert [(m["event"], m["seq"]) for m in got] == [
            ("order_invalid", 1), ("order_updated", 2), ("order_cancelled", 3)]
        assert {m["channel"] for m in got} == {f"order:{order_hash}"}
        assert got[-1]["data"]["status"] == "cancelled"
        assert got[-1]["data"]["order_hash"] == order_hash


async def test_orders_channel_snapshot_is_the_first_page_and_created_orders_follow(
    serve: Serve
) -> None:
    async with serve(websocket={"snapshot_limit": 2}) as served, served.client() as client:
        hashes = [await submit(served, i) for i in range(3)]
        result, snapshot = await client.subscribe("orders")
        seq = result["seq"]
        assert seq == 3  # three order_created since the hub started, nobody listening
        assert [o["order_hash"] for o in snapshot["data"]["orders"]] == hashes[:2]
        rest = (await client.call("getActiveOrders", cursor=snapshot["data"]["next_cursor"]))
        assert [o["order_hash"] for o in rest["result"]["orders"]] == hashes[2:]
        assert rest["result"]["next_cursor"] is None

        new = await submit(served, 99)
        message = await client.event()
        assert (message["event"], message["channel"], message["seq"]) == (
            "order_created", "orders", seq + 1)
        assert message["data"]["order_hash"] == new
        assert message["data"]["order"]["taking_amount"] == str(MINIMUM)


async def test_a_gap_in_seq_is_visible_and_rest_resyncs_it(serve: Serve) -> None:
    async with serve() as served:
        async with served.client() as client:
            await submit(served, 1)
            result, _ = await client.subscribe("orders")
            last_seq = result["seq"]
            await submit(served, 2)
            last_seq = (await client.event())["seq"]
        # Offline while three orders arrive: the next subscription shows the gap.
        missed = [await submit(served, 10 + i) for i in range(3)]
        async with served.client() as client:
            result, snapshot = await client.subscribe("orders")
            assert result["seq"] == last_seq + 3
            known = {o["order_hash"] for o in snapshot["data"]["orders"]}
            page = (await served.http.get("/api/orders?status=active")).json()
            assert set(missed) <= {o["order_hash"] for o in page["orders"]} == known


async def test_resubscribing_resends_a_snapshot_at_the_current_seq(serve: Serve) -> None:
    async with serve() as served, served.client() as client:
        order_hash = await submit(served, 1)
        await client.subscribe(f"order:{order_hash}")
        await served.desk.transition(order_hash, OrderStatus.INVALID, reason="x")
        assert (await client.event())["seq"] == 1
        result, snapshot = await client.subscribe(f"order:{order_hash}")
        assert result["seq"] == snapshot["seq"] == 1
        assert snapshot["data"]["status"] == "invalid"


async def test_price_channels_carry_each_change_and_the_firehose_one_list_per_tick(
    serve: Serve
) -> None:
    async with serve() as served:
        first = await submit(served, 1)
        second = await submit(served, 2)
        await served.decayer.tick()  # first prices
        async with served.client() as one, served.client() as hose:
            result, snapshot = await one.subscribe(f"prices:{first}")
            assert snapshot["data"] == {
                "order_hash": first, "at": NOW, "rate_bump": 1_000_000,
                "taking_amount": str(taking_amount(MINIMUM, LONG_DETAILS, NOW)),
                "base_fee": "0"}
            hose_result, hose_snapshot = await hose.subscribe("prices")
            assert [p["order_hash"] for p in hose_snapshot["data"]["prices"]] == [first, second]
            for second_ in range(1, 4):
                await served.tick()
                message = await one.event()
                assert (message["event"], message["channel"], message["seq"]) == (
                    "price_update", f"prices:{first}", result["seq"] + second_)
                at = NOW + second_
                assert message["data"]["at"] == at
                assert message["data"]["taking_amount"] == str(
                    taking_amount(MINIMUM, LONG_DETAILS, at))
                batch = await hose.event()
                assert (batch["event"], batch["seq"]) == ("price_update",
                                                          hose_result["seq"] + second_)
                assert {p["order_hash"] for p in batch["data"]} == {first, second}
                assert all(p["at"] == at for p in batch["data"])


async def test_unsubscribe_stops_deltas(serve: Serve) -> None:
    async with serve() as served, served.client() as client:
        order_hash = await submit(served, 1)
        await client.subscribe(f"prices:{order_hash}")
        reply = await client.call("unsubscribe", channel=f"prices:{order_hash}")
        assert reply["result"] == {"channel": f"prices:{order_hash}", "unsubscribed": True}
        await served.tick()
        again = await client.call("unsubscribe", channel=f"prices:{order_hash}")
        assert again["result"]["unsubscribed"] is False
        assert client.events == []
        assert served.hub.stats().subscriptions == 0


async def test_get_order_and_get_active_orders_match_rest(serve: Serve) -> None:
    async with serve() as served, served.client() as client:
        hashes = [await submit(served, i) for i in range(5)]
        await served.desk.transition(hashes[1], OrderStatus.CANCELLED, reason="x")
        got = await client.call("getOrder", order_hash=hashes[0])
        assert got["result"] == (await served.http.get(f"/api/orders/{hashes[0]}")).json()
        pages, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.call("getActiveOrders", **params))["result"]
            pages.append([o["order_hash"] for o in page["orders"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == [[hashes[0], hashes[2]], [hashes[3], hashes[4]]]
        missing = await client.call("getOrder", order_hash="0x" + "00" * 32)
        assert missing["error"]["code"] == "ORDER_NOT_FOUND"
        bad = await client.call("getActiveOrders", cursor="nonsense")
        assert bad["error"]["code"] == "INVALID_CURSOR"


async def test_heartbeats_arrive(serve: Serve) -> None:
    async with serve(websocket={"heartbeat_seconds": 0.05}) as served:
        async with served.client() as client:
            message = await client.event(skip_heartbeats=False)
            assert message == {"event": "heartbeat", "channel": None, "seq": None,
                               "data": {"at": int(served.clock.now())}}


async def test_the_firehose_sends_one_list_per_tick_whatever_the_slices(serve: Serve) -> None:
    async with serve() as served, served.client() as hose, served.client() as one:
        first = await submit(served, 1)
        hose_result, _ = await hose.subscribe("prices")
        one_result, _ = await one.subscribe(f"prices:{first}")
        others = [f"0x{i:064x}" for i in range(3)]
        bus = served.app.state.relayer.bus
        bus.publish(PricesUpdated(NOW + 5, 7, (others[0], first), (10, 20), (100, 200),
                                  last=False))
        bus.publish(PricesUpdated(NOW + 5, 7, (others[1], others[2]), (30, 40), (300, 400)))
        batch = await hose.event()
        assert (batch["event"], batch["channel"], batch["seq"]) == (
            "price_update", "prices", hose_result["seq"] + 1)
        assert [(p["order_hash"], p["rate_bump"], p["taking_amount"]) for p in batch["data"]] == [
            (others[0], 10, "100"), (first, 20, "200"), (others[1], 30, "300"),
            (others[2], 40, "400")]
        assert {(p["at"], p["base_fee"]) for p in batch["data"]} == {(NOW + 5, "7")}
        message = await one.event()
        assert (message["channel"], message["seq"], message["data"]) == (
            f"prices:{first}", one_result["seq"] + 1,
            {"order_hash": first, "at": NOW + 5, "rate_bump": 20, "taking_amount": "200",
             "base_fee": "7"})

        assert served.hub.stats().frames_written >= 2  # shared frames, straight to sockets

        # Single updates (a follower replica's tick) are gathered into one message too.
        for i, h in enumerate(others):
            bus.publish(PriceUpdated(h, NOW + 6, i, 1_000 + i, 0))
        batch = await hose.event()
        assert batch["seq"] == hose_result["seq"] + 2
        assert [p["order_hash"] for p in batch["data"]] == others


async def test_a_client_with_compression_gets_every_message_through_asgi(serve: Serve) -> None:
    async with serve(**{"websocket.per_message_deflate": True}) as served:
        first = await submit(served, 1)
        await served.decayer.tick()
        async with served.client(compression="deflate") as client:
            result, _ = await client.subscribe(f"prices:{first}")
            written = served.hub.stats().frames_written
            for second in range(1, 4):
                await served.tick()
                message = await client.event()
                assert (message["seq"], message["data"]["at"]) == (result["seq"] + second,
                                                                   NOW + second)
            # Compressed connections never take the raw frames.
            assert served.hub.stats().frames_written == written
