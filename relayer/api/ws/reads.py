"""What the hub reads from the order book: channel snapshots, pages and single orders.

Pages use the REST listing's cursors (``relayer/public/views.py``), so a client can
continue a snapshot with getActiveOrders or ``GET /api/orders`` alike.
"""

from __future__ import annotations

import re
from typing import Protocol

from relayer.api.ws.protocol import (
    INVALID_CURSOR,
    ORDER_NOT_FOUND,
    UNKNOWN_CHANNEL,
    RequestError,
    encode,
)
from relayer.auction.gas import BaseFeeSource
from relayer.clock import Clock
from relayer.errors import ValidationError
from relayer.orders.book import OrderBook, OrderEntry, OrderFilter
from relayer.orders.status import OrderStatus
from relayer.pricing.events import PriceUpdated
from relayer.public.events import (
    ACTIONS,
    FILLS,
    ORDER_PREFIX,
    ORDERS,
    PRICE_PREFIX,
    PRICES,
    SECRETS,
    PriceUpdateView,
)
from relayer.public.views import OrderRenderer, decode_cursor, encode_cursor, price_of
from relayer.types import canonical_order_hash

ACTIVE = OrderFilter(statuses=frozenset({OrderStatus.ACTIVE, OrderStatus.PARTIALLY_FILLED}))
"""What getActiveOrders lists: orders a resolver can fill now."""
GLOBAL_CHANNELS = (ORDERS, PRICES, FILLS, SECRETS, ACTIONS)
_HASH = re.compile(r"^0x[0-9a-f]{64}$")


class PriceLookup(Protocol):
    def price(self, order_hash: str) -> PriceUpdated | None:
        """The last price published for the order, ``None`` before its first tick."""


def canonical_channel(name: str) -> str:
    """The channel's canonical name (order hashes in lower case); raises if unknown."""
    if name in GLOBAL_CHANNELS:
        return name
    for prefix in (ORDER_PREFIX, PRICE_PREFIX):
        if name.startswith(prefix):
            order_hash = canonical_order_hash(name[len(prefix):])
            if _HASH.match(order_hash):
                return prefix + order_hash
    raise RequestError(UNKNOWN_CHANNEL, f"unknown channel {name[:80]!r}: one of "
                       "orders, order:<hash>, prices, prices:<hash>, fills, secrets, actions")


class OrderReads:
    def __init__(self, book: OrderBook, *, clock: Clock, base_fee: BaseFeeSource,
                 prices: PriceLookup | None, snapshot_limit: int,
                 renderer: OrderRenderer | None = None) -> None:
        self._renderer = renderer or OrderRenderer()
        self._book = book
        self._clock = clock
        self._base_fee = base_fee
        self._prices = prices
        self._snapshot_limit = snapshot_limit

    def active_page(self, cursor: str | None, limit: int) -> bytes:
        """``{"orders": [...], "next_cursor"}`` exactly as ``GET /api/orders`` renders it."""
        entries, next_position = self._book.query(ACTIVE, after=self._after(cursor),
                                                  limit=limit)
        return self._renderer.page(entries, next_position, int(self._clock.now()),
                           self._base_fee.base_fee())

    def order(self, order_hash: str) -> bytes:
        entry = self._entry(order_hash)
        return self._renderer.order(entry, int(self._clock.now()), self._base_fee.base_fee())

    def snapshot(self, channel: str) -> bytes:
        """The data of the snapshot sent on subscribing to ``channel`` (canonical name)."""
        if channel == ORDERS:
            return self.active_page(None, self._snapshot_limit)
        if channel == PRICES:
            entries, next_position = self._book.query(ACTIVE, after=0,
                                                      limit=self._snapshot_limit)
            cursor = None if next_position is None else encode_cursor(next_position)
            return (b'{"prices":[' + b",".join(self._price(e) for e in entries)
                    + b'],"next_cursor":' + encode(cursor) + b"}")
        if channel.startswith(ORDER_PREFIX):
            return self.order(channel[len(ORDER_PREFIX):])
        if channel.startswith(PRICE_PREFIX):
            return self._price(self._entry(channel[len(PRICE_PREFIX):]))
        return b"null"  # fills, secrets, actions: streams with no state to show

    def exists(self, order_hash: str) -> bool:
        return self._book.get(order_hash) is not None

    def _price(self, entry: OrderEntry) -> bytes:
        published = None if self._prices is None else self._prices.price(entry.order_hash)
        if published is not None:
            return encode(PriceUpdateView(
                order_hash=entry.order_hash, at=published.at, rate_bump=published.rate_bump,
                taking_amount=str(published.taking_amount), base_fee=str(published.base_fee)))
        now = price_of(entry, int(self._clock.now()), self._base_fee.base_fee())
        return encode(PriceUpdateView(order_hash=entry.order_hash, at=now.at,
                                      rate_bump=now.rate_bump, taking_amount=now.taking_amount,
                                      base_fee=now.base_fee))

    def _entry(self, order_hash: str) -> OrderEntry:
        entry = self._book.get(canonical_order_hash(order_hash))
        if entry is None:
            raise RequestError(ORDER_NOT_FOUND, f"no such order {order_hash[:80]}")
        return entry

    @staticmethod
    def _after(cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            return decode_cursor(cursor)
        except ValidationError as exc:
            raise RequestError(INVALID_CURSOR, exc.message) from None
