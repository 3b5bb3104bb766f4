"""The order book: the in-memory projection of the event log that queries read.

It is rebuilt by replaying the log at startup and kept current by applying
each committed event. Listing is by submission position, a stable order for
cursor pagination.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sortedcontainers import SortedList

from relayer.orders.codec import submission_from_wire
from relayer.orders.events import ORDER_EVENTS, OrderEvent, OrderSubmitted
from relayer.orders.model import SignedOrder
from relayer.orders.status import OrderStatus, check_transition
from relayer.store.base import Record


@dataclass(slots=True, eq=False)
class OrderEntry:
    signed: SignedOrder
    position: int
    """Log position of the submission: the listing order."""
    version: int
    status: OrderStatus
    submitted_at: int
    updated_at: int
    status_reason: str = ""

    @property
    def order_hash(self) -> str:
        return self.signed.order_hash


@dataclass(frozen=True, slots=True)
class OrderFilter:
    statuses: frozenset[OrderStatus] = frozenset()
    src_chain: str | None = None
    dst_chain: str | None = None
    maker: str | None = None
    maker_asset: str | None = None
    taker_asset: str | None = None

    def matches(self, entry: OrderEntry) -> bool:
        order = entry.signed.order
        return (
            (not self.statuses or entry.status in self.statuses)
            and (self.src_chain is None or order.src_chain == self.src_chain)
            and (self.dst_chain is None or order.dst_chain == self.dst_chain)
            and (self.maker is None or order.maker == self.maker)
            and (self.maker_asset is None or order.maker_asset == self.maker_asset)
            and (self.taker_asset is None or order.taker_asset == self.taker_asset)
        )


class OrderBook:
    def __init__(self) -> None:
        self._by_hash: dict[str, OrderEntry] = {}
        self._by_position: dict[int, OrderEntry] = {}
        self._positions: list[int] = []
        self._by_status: dict[OrderStatus, SortedList] = {s: SortedList() for s in OrderStatus}
        self._by_maker: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    def __getitem__(self, order_hash: str) -> OrderEntry:
        return self._by_hash[order_hash]

    def get(self, order_hash: str) -> OrderEntry | None:
        return self._by_hash.get(order_hash)

    def project(self, event: object, record: Record) -> None:
        """The projection loop's hand-over (``relayer.events.projection``)."""
        if isinstance(event, ORDER_EVENTS):
            self.apply(event, record.position)

    def apply(self, event: OrderEvent, position: int) -> OrderEntry:
        """Fold one committed event into the book."""
        if isinstance(event, OrderSubmitted):
            entry = OrderEntry(
                signed=submission_from_wire(event.order_hash, event.submission),
                position=position, version=1, status=event.status,
                submitted_at=event.submitted_at, updated_at=event.submitted_at,
            )
            self._by_hash[entry.order_hash] = entry
            self._by_position[position] = entry
            bisect.insort(self._positions, position)
            self._by_status[entry.status].add(position)
            bisect.insort(self._by_maker.setdefault(entry.signed.order.maker, []), position)
            return entry
        entry = self._by_hash[event.order_hash]
        check_transition(entry.status, event.new)
        self._by_status[entry.status].remove(entry.position)
        self._by_status[event.new].add(entry.position)
        entry.status = event.new
        entry.status_reason = event.reason
        entry.updated_at = event.at
        entry.version += 1
        return entry

    def with_status(self, statuses: Iterable[OrderStatus]) -> Iterator[OrderEntry]:
        """Entries in any of ``statuses``, in listing order (a snapshot, safe to mutate)."""
        positions = list(heapq.merge(*(self._by_status[s] for s in statuses)))
        return (self._by_position[p] for p in positions)

    def query(
        self, where: OrderFilter, *, after: int, limit: int
    ) -> tuple[list[OrderEntry], int | None]:
        """Up to ``limit`` entries after position ``after``, and the cursor of the next page."""
        page: list[OrderEntry] = []
        for position in self._candidates(where, after):
            entry = self._by_position[position]
            if not where.matches(entry):
                continue
            if len(page) == limit:
                return page, page[-1].position
            page.append(entry)
        return page, None

    def _candidates(self, where: OrderFilter, after: int) -> Iterator[int]:
        if where.maker is not None:
            return _tail(self._by_maker.get(where.maker, []), after)
        if where.statuses:
            ranges = [self._by_status[s].irange(minimum=after, inclusive=(False, True))
                      for s in where.statuses]
            return ranges[0] if len(ranges) == 1 else heapq.merge(*ranges)
        return _tail(self._positions, after)


def _tail(positions: list[int], after: int) -> Iterator[int]:
    return (positions[i] for i in range(bisect.bisect_right(positions, after), len(positions)))
