"""The order lifecycle's events: stored in the order's own stream (its hash)."""

from __future__ import annotations

from dataclasses import dataclass

from relayer.events.codec import EventCodec
from relayer.orders.status import OrderStatus
from relayer.orders.wire import OrderSubmissionWire


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


OrderEvent = OrderSubmitted | OrderStatusChanged
ORDER_EVENTS: tuple[type[OrderEvent], ...] = (OrderSubmitted, OrderStatusChanged)
ORDER_CODEC = EventCodec(ORDER_EVENTS)
