"""Domain events: frozen, slotted dataclasses with past-tense names.

Events that change state are written to the log (``STORED``); the others
(price ticks) are derived and only travel on the bus.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.events.cardano import CARDANO_EVENTS, OrderLocked, OrderLockSpent
from relayer.events.chain import CHAIN_EVENTS, ChainEvent
from relayer.events.settlement import SETTLEMENT_EVENTS, FillStatusChanged, SecretReleased
from relayer.orders.status import OrderStatus
from relayer.orders.wire import OrderSubmissionWire
from relayer.webhooks.records import WEBHOOK_RECORDS, WebhookRecord


@dataclass(frozen=True, slots=True)
class OrderSubmitted:
    order_hash: str
    submission: OrderSubmissionWire
    status: OrderStatus
    submitted_at: int


@dataclass(frozen=True, slots=True)
class OrderStatusChanged:
    order_hash: str
    old: OrderStatus
    new: OrderStatus
    reason: str
    at: int


@dataclass(frozen=True, slots=True)
class PriceUpdated:
    """The taking amount of an order changed (derived, not stored)."""

    order_hash: str
    at: int
    rate_bump: int
    taking_amount: int
    base_fee: int


OrderEvent = OrderSubmitted | OrderStatusChanged
ORDER_EVENTS: tuple[type[OrderEvent], ...] = (OrderSubmitted, OrderStatusChanged)
StoredEvent = (OrderEvent | ChainEvent | OrderLocked | OrderLockSpent | WebhookRecord
               | FillStatusChanged | SecretReleased)
STORED: dict[str, type[StoredEvent]] = {
    cls.__name__: cls for cls in (*ORDER_EVENTS, *CHAIN_EVENTS, *CARDANO_EVENTS,
                                *WEBHOOK_RECORDS, *SETTLEMENT_EVENTS)
}
DomainEvent = StoredEvent | PriceUpdated
