"""The order desk: the one place that changes orders.

Each change is validated, written to the log and committed, folded into the
book, and only then published on the bus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from relayer.clock import Clock
from relayer.errors import ConflictError, NotFoundError, SignatureError
from relayer.events.bus import EventBus
from relayer.events.codec import to_record
from relayer.events.projection import Committed, Projector
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook, OrderEntry
from relayer.orders.codec import signature_from_wire, submission_to_wire
from relayer.orders.events import (
    ORDER_CODEC,
    OrderEvent,
    OrderStatusChanged,
    OrderSubmitted,
)
from relayer.orders.funding import FundsCheck
from relayer.orders.signatures import verify_signature
from relayer.orders.status import CANCELLABLE, OrderStatus, check_transition
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import CancelWire, OrderSubmissionWire
from relayer.signing.eip712 import cancel_digest
from relayer.store.base import EventStore, NewRecord, VersionConflict

log = structlog.get_logger(__name__)



class OrderDesk:
    def __init__(
        self,
        *,
        store: EventStore,
        book: OrderBook,
        bus: EventBus,
        validator: OrderValidator,
        chains: ChainRegistry,
        clock: Clock,
        funds: Mapping[str, FundsCheck] | None = None,
        committed: Committed | None = None,
    ) -> None:
        """``committed``: the projection loop that folds what the desk appends into the
        book and publishes it; ``None``: a loop of its own over ``book`` and ``bus``."""
        self._store = store
        self._book = book
        self._committed = committed or Projector(ORDER_CODEC, bus, [book]).committed
        self._validator = validator
        self._chains = chains
        self._clock = clock
        self._funds = dict(funds or {})

    @property
    def book(self) -> OrderBook:
        return self._book

    async def submit(self, wire: OrderSubmissionWire) -> OrderEntry:
        now = int(self._clock.now())
        signed = self._validator.accept(wire, now=now)
        if self._book.get(signed.order_hash) is not None:
            raise _duplicate(signed.order_hash)
        funds = self._funds.get(signed.order.src_chain)
        if funds is not None:
            await funds.check(signed)
        status = (OrderStatus.ACTIVE if now >= signed.order.auction.start_time
                  else OrderStatus.PENDING)
        event = OrderSubmitted(order_hash=signed.order_hash,
                               submission=submission_to_wire(signed),
                               status=status, submitted_at=now)
        try:
            (entry,) = await self._commit([(event, 1)])
        except VersionConflict as exc:
            raise _duplicate(signed.order_hash) from exc
        log.info("order_submitted", order_hash=signed.order_hash, status=str(status),
                 src_chain=signed.order.src_chain, dst_chain=signed.order.dst_chain)
        return entry

    async def cancel(self, order_hash: str, wire: CancelWire) -> OrderEntry:
        entry = self.get(order_hash)
        order = entry.signed.order
        chain = self._chains.get(order.src_chain, field="order.src_chain")
        maker = chain.parse_address(order.maker, field="order.maker")
        digest = cancel_digest(bytes.fromhex(order_hash[2:]), self._validator.domain)
        try:
            verify_signature(chain.kind, digest, signature_from_wire(wire.signature), maker)
        except SignatureError as exc:
            raise SignatureError(f"cancel {exc.message}") from exc
        if entry.status not in CANCELLABLE:
            raise ConflictError(f"order is {entry.status} and can no longer be cancelled",
                                code="ORDER_NOT_CANCELLABLE",
                                details={"status": str(entry.status)})
        return await self.transition(order_hash, OrderStatus.CANCELLED, reason="maker_cancelled")

    async def transition(self, order_hash: str, new: OrderStatus, *, reason: str) -> OrderEntry:
        """Move an order to ``new``: check, persist, apply, publish one event."""
        entry = self.get(order_hash)
        check_transition(entry.status, new)
        event = OrderStatusChanged(order_hash=order_hash, old=entry.status, new=new,
                                   reason=reason, at=int(self._clock.now()))
        try:
            (updated,) = await self._commit([(event, entry.version + 1)])
        except VersionConflict as exc:
            raise ConflictError("order changed concurrently; retry",
                                code="CONCURRENT_UPDATE") from exc
        log.info("order_status_changed", order_hash=order_hash, old=str(event.old),
                 new=str(new), reason=reason)
        return updated

    def get(self, order_hash: str) -> OrderEntry:
        entry = self._book.get(order_hash)
        if entry is None:
            raise NotFoundError("no such order", code="ORDER_NOT_FOUND",
                                details={"order_hash": order_hash})
        return entry

    async def _commit(self, events: Sequence[tuple[OrderEvent, int]]) -> list[OrderEntry]:
        records: list[NewRecord] = [to_record(event, version=v, stream=event.order_hash)
                                    for event, v in events]
        written = await self._store.append(records)
        self._committed(written, [event for event, _ in events])
        return [self._book[event.order_hash] for event, _ in events]


def _duplicate(order_hash: str) -> ConflictError:
    return ConflictError("order already submitted", code="DUPLICATE_ORDER",
                         details={"order_hash": order_hash})
