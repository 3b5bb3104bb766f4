"""The hub's heartbeats, with connections whose ASGI ``send`` records what it gets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from relayer.api.ws.hub import Hub
from relayer.auction.gas import StaticBaseFee
from relayer.clock import FakeClock
from relayer.orders.book import OrderBook
from relayer.public.events import PublicEvents
from tests.factories import NOW, make_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send(self, message: Any) -> None:
        self.messages.append(json.loads(message["text"]))


def make_hub(heartbeat_seconds: float) -> Hub:
    settings = make_settings(**{"websocket.heartbeat_seconds": heartbeat_seconds})
    return Hub(settings.websocket, public=PublicEvents(OrderBook(), StaticBaseFee(0)),
               clock=FakeClock(NOW))


async def test_beat_reaches_the_given_clients_or_all() -> None:
    hub = make_hub(15)
    inboxes = [Inbox() for _ in range(3)]
    conns = [hub.connect(inbox.send, None) for inbox in inboxes]
    hub.beat(conns[:1])
    assert [len(i.messages) for i in inboxes] == [1, 0, 0]
    hub.beat()
    assert [len(i.messages) for i in inboxes] == [2, 1, 1]
    assert inboxes[2].messages == [{"event": "heartbeat", "channel": None, "seq": None,
                                    "data": {"at": NOW}}]


async def test_a_round_of_heartbeats_is_spread_over_the_period() -> None:
    hub = make_hub(0.2)  # two slices, 0.1 s apart
    inboxes = [Inbox() for _ in range(4)]
    for inbox in inboxes:
        hub.connect(inbox.send, None)
    hub.start()
    try:
        async with asyncio.timeout(10):
            while not any(i.messages for i in inboxes):
                await asyncio.sleep(0)
            first_slice = sum(len(i.messages) for i in inboxes)
            while not all(i.messages for i in inboxes):
                await asyncio.sleep(0)
    finally:
        await hub.stop()
    assert first_slice == 2
    assert all(i.messages[0]["event"] == "heartbeat" for i in inboxes)
