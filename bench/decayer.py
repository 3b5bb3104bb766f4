"""Decayer tick over 100,000 open orders: the median time of one ``Decayer.tick``.

Target: < 100 ms for 100,000 active orders. The book is filled directly (the
orders are not signed: the tick never looks at signatures), the clock is a
FakeClock moved one second per tick, and every change goes through the real
event bus (``PricesUpdated`` batches, one per slice of 500 orders) to the
WebSocket hub (no clients connected) and a counting subscriber. Two books:

- ``preset mix``: auctions of 360 s in orders that live 3,600 s (the medium
  preset), started at random over the last hour: about one in ten is in its
  auction at any time, the rest sit at their minimum until the deadline;
- ``all in auction``: every order inside a one-hour auction whose taking
  amount changes every second (the worst case: 100,000 events per tick).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import tempfile
import time
from pathlib import Path

from relayer.api.ws.hub import Hub
from relayer.auction.gas import StaticBaseFee
from relayer.clock import FakeClock
from relayer.events.bus import EventBus
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.desk import OrderDesk
from relayer.orders.events import OrderSubmitted
from relayer.orders.status import OrderStatus
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import AuctionWire, OrderSubmissionWire
from relayer.pricing.decayer import Decayer
from relayer.pricing.events import PricesUpdated
from relayer.public.events import PublicEvents
from relayer.store import open_store
from tests.factories import make_settings, order_wire

NOW = 1_763_750_000


def fill_book(book: OrderBook, count: int, mix: str, rng: random.Random) -> None:
    template = order_wire()
    for i in range(count):
        if mix == "all":
            auction = AuctionWire(start_time=NOW - rng.randrange(1, 600), duration=3600,
                                  initial_rate_bump=500_000 + i % 1000)
            deadline = NOW + 7200
        else:
            start = NOW - rng.randrange(1, 3400)
            auction = AuctionWire(start_time=start, duration=360,
                                  initial_rate_bump=250_000 + i % 1000)
            deadline = start + 3600
        order = order_wire(salt=str(i), taking_amount=str(10**18 + i), auction=auction,
                           deadline=deadline, hashlock=template.hashlock)
        wire = OrderSubmissionWire(order=order, secret_hashes=["0x" + "11" * 32],
                                   signature="0x" + "22" * 65)
        book.apply(OrderSubmitted(order_hash=f"0x{i:064x}", submission=wire,
                                  status=OrderStatus.ACTIVE, submitted_at=NOW - 3600),
                   position=i + 1)


async def run(count: int, ticks: int, mix: str) -> tuple[float, int, int]:
    settings = make_settings()
    chains = ChainRegistry.from_settings(settings.chains)
    bus = EventBus()
    book = OrderBook()
    clock = FakeClock(NOW)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await store.open()
        desk = OrderDesk(store=store, book=book, bus=bus, chains=chains, clock=clock,
                         validator=OrderValidator.from_settings(settings, chains))
        fill_book(book, count, mix, random.Random(1))
        base_fee = StaticBaseFee(0)
        hub = Hub(settings.websocket, public=PublicEvents(book, base_fee), clock=clock)
        hub.attach(bus)
        published = [0]
        bus.subscribe(PricesUpdated,
                      lambda e: published.__setitem__(0, published[0] + e.count))
        decayer = Decayer(desk, clock, bus=bus, base_fee=base_fee)
        decayer.track_all()
        decayer.attach()
        await decayer.tick()  # every order's first price
        gc.collect()
        gc.freeze()  # as the app does every second (relayer/memory.py)
        times = []
        before = published[0]
        for _ in range(ticks):
            clock.advance(1)
            started = time.perf_counter()
            await decayer.tick()
            times.append(time.perf_counter() - started)
            gc.collect(1)
            gc.freeze()
        live = decayer.board.live
        await store.close()
    return statistics.median(times), (published[0] - before) // ticks, live


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=30)
    args = parser.parse_args()
    for mix, label in (("preset", "preset mix"), ("all", "all in auction")):
        median, per_tick, live = asyncio.run(run(args.orders, args.ticks, mix))
        print(f"decayer {label}: {args.orders} active orders ({live} in their auction), "
              f"{per_tick} price updates per tick: median tick {median * 1000:.1f} ms "
              f"over {args.ticks} ticks (target < 100 ms)")


if __name__ == "__main__":
    main()
