"""Public events: what the outside world sees of the domain events on the bus.

This is the one mapping shared by the WebSocket hub (``relayer/api/ws``) and the
webhooks. A domain event becomes zero or more ``PublicEvent`` values, each with

- ``event``: one of the public names in ``EVENT_CHANNELS`` (``order_created``,
  ``price_update``, ...);
- ``channels``: the WebSocket channels it is published on (``orders``,
  ``order:<hash>``, ``prices``, ``prices:<hash>``, ``fills``, ``secrets``,
  ``actions``); ``channel_scope`` says which of them need an API key scope;
- ``data``: the event's JSON, encoded once (amounts as decimal strings). Order
  lifecycle events carry the same order JSON as ``GET /api/orders/{hash}``;
  ``price_update`` carries ``{order_hash, at, rate_bump, taking_amount, base_fee}``;
- ``order_hash``, ``src_chain``, ``dst_chain`` and ``maker`` for filtering
  (webhook filters by event, chain and maker).

Call ``PublicEvents.map`` synchronously in the bus handler: order views are
rendered from the order book, which already holds the committed event and
nothing later.

Extending it: write one function ``rule(event, ctx) -> list[Published]`` for a
new domain event type, add it to ``RULES`` (or ``PublicEvents.add_rule``), and
give any new public name its channels in ``EVENT_CHANNELS``. ``order_filled``
and ``order_filled_partially`` come from status changes today; once a fill
event type exists, map it here and drop those two rows from ``STATUS_EVENTS``
so a fill is announced once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
import structlog

from relayer.auction.gas import BaseFeeSource
from relayer.chains.escrows import EscrowState
from relayer.chains.events import EscrowCreated
from relayer.orders.book import OrderEntry
from relayer.orders.events import OrderStatusChanged, OrderSubmitted
from relayer.orders.status import OrderStatus
from relayer.pricing.events import PriceUpdated
from relayer.public.fills import PublicActionView, created_view, escrow_view
from relayer.public.views import OrderRenderer
from relayer.security.principal import Scope
from relayer.settlement.events import PublicActionAvailable, SecretShared

log = structlog.get_logger(__name__)

ORDERS = "orders"
PRICES = "prices"
FILLS = "fills"
SECRETS = "secrets"
ACTIONS = "actions"
ORDER_PREFIX = "order:"
PRICE_PREFIX = "prices:"

CHANNEL_SCOPES: dict[str, Scope] = {
    FILLS: Scope.READ,
    ACTIONS: Scope.READ,
    SECRETS: Scope.SECRETS,
}
"""Channels that need an authenticated principal with this scope; the rest are public."""

EVENT_CHANNELS: dict[str, tuple[str, ...]] = {
    "order_created": (ORDERS, ORDER_PREFIX),
    "order_updated": (ORDERS, ORDER_PREFIX),
    "order_cancelled": (ORDERS, ORDER_PREFIX),
    "order_invalid": (ORDERS, ORDER_PREFIX),
    "order_filled": (ORDERS, ORDER_PREFIX, FILLS),
    "order_filled_partially": (ORDERS, ORDER_PREFIX, FILLS),
    "order_executed": (ORDERS, ORDER_PREFIX, FILLS),
    "order_refunded": (ORDERS, ORDER_PREFIX, FILLS),
    "price_update": (PRICES, PRICE_PREFIX),
    "escrow_created": (ORDER_PREFIX, FILLS),
    "secret_shared": (SECRETS,),
    "public_action": (ACTIONS,),
}
"""Each public event name and where it goes; a name ending in ``:`` is a per-order
channel and gets the order hash appended."""

STATUS_EVENTS: dict[OrderStatus, str] = {
    OrderStatus.CANCELLED: "order_cancelled",
    OrderStatus.INVALID: "order_invalid",
    OrderStatus.FILLED: "order_filled",
    OrderStatus.PARTIALLY_FILLED: "order_filled_partially",
    OrderStatus.EXECUTED: "order_executed",
    OrderStatus.REFUNDED: "order_refunded",
}
"""The public name of a status change by its new status; any other is ``order_updated``."""


def order_channel(order_hash: str) -> str:
    return ORDER_PREFIX + order_hash


def price_channel(order_hash: str) -> str:
    return PRICE_PREFIX + order_hash


def channel_scope(channel: str) -> Scope | None:
    """The scope a subscriber of ``channel`` needs, or ``None`` for a public channel."""
    return CHANNEL_SCOPES.get(channel)


def channels_of(event: str, order_hash: str | None) -> tuple[str, ...]:
    """The channels a public event named ``event`` goes to for ``order_hash``."""
    channels = []
    for name in EVENT_CHANNELS[event]:
        if name.endswith(":"):
            if order_hash is not None:
                channels.append(name + order_hash)
        else:
            channels.append(name)
    return tuple(channels)


@dataclass(frozen=True, slots=True)
class PublicEvent:
    event: str
    channels: tuple[str, ...]
    data: bytes
    """The JSON of the event's data, encoded once for every consumer."""
    order_hash: str | None
    src_chain: str | None
    dst_chain: str | None
    maker: str | None
    at: int
    """Unix seconds of the domain event."""

    @property
    def required_scope(self) -> Scope | None:
        """The scope needed to receive this event at all: ``None`` if any of its
        channels is public."""
        scopes = [channel_scope(c) for c in self.channels]
        if not scopes or None in scopes:
            return None
        return scopes[0]


class PriceUpdateView(msgspec.Struct):
    order_hash: str
    at: int
    rate_bump: int
    taking_amount: str
    base_fee: str


class OrderLookup(Protocol):
    def get(self, order_hash: str) -> OrderEntry | None: ...


class EscrowLookup(Protocol):
    def get(self, chain: str, escrow: str) -> EscrowState | None: ...


class _NoEscrows:
    def get(self, chain: str, escrow: str) -> EscrowState | None:
        return None


@dataclass(frozen=True, slots=True)
class Published:
    """What a rule produces: a public name, the order it concerns, its data and time."""

    event: str
    entry: OrderEntry | None
    order_hash: str | None
    data: bytes
    at: int


@dataclass(frozen=True, slots=True)
class MapContext:
    orders: OrderLookup
    base_fee: BaseFeeSource
    encode: Callable[[Any], bytes]
    renderer: OrderRenderer
    escrows: EscrowLookup


Rule = Callable[[Any, MapContext], list[Published]]


def _order_created(event: OrderSubmitted, ctx: MapContext) -> list[Published]:
    entry = ctx.orders.get(event.order_hash)
    if entry is None:
        return []
    at = event.submitted_at
    return [Published("order_created", entry, event.order_hash,
                      ctx.renderer.order(entry, at, ctx.base_fee.base_fee()), at)]


def _status_changed(event: OrderStatusChanged, ctx: MapContext) -> list[Published]:
    entry = ctx.orders.get(event.order_hash)
    if entry is None:
        return []
    name = STATUS_EVENTS.get(event.new, "order_updated")
    return [Published(name, entry, event.order_hash,
                      ctx.renderer.order(entry, event.at, ctx.base_fee.base_fee()), event.at)]


def _price_updated(event: PriceUpdated, ctx: MapContext) -> list[Published]:
    data = ctx.encode(PriceUpdateView(
        order_hash=event.order_hash, at=event.at, rate_bump=event.rate_bump,
        taking_amount=str(event.taking_amount), base_fee=str(event.base_fee)))
    return [Published("price_update", ctx.orders.get(event.order_hash), event.order_hash,
                      data, event.at)]


def _escrow_created(event: EscrowCreated, ctx: MapContext) -> list[Published]:
    point = event.point
    data = ctx.encode(created_view(event))
    order_hash = event.immutables.order_hash
    return [Published("escrow_created", ctx.orders.get(order_hash), order_hash, data,
                      point.timestamp)]


class SecretSharedView(msgspec.Struct):
    order_hash: str
    fill_id: str
    idx: int
    secret_hash: str
    secret: str
    at: int


def _secret_shared(event: SecretShared, ctx: MapContext) -> list[Published]:
    data = ctx.encode(SecretSharedView(
        order_hash=event.order_hash, fill_id=event.fill_id, idx=event.secret_index,
        secret_hash=event.secret_hash, secret=event.secret, at=event.at))
    return [Published("secret_shared", ctx.orders.get(event.order_hash), event.order_hash,
                      data, event.at)]


def _public_action(event: PublicActionAvailable, ctx: MapContext) -> list[Published]:
    escrow = escrow_view(ctx.escrows.get(event.chain, event.escrow))
    if escrow is None:  # reverted between the decision and its announcement
        return []
    data = ctx.encode(PublicActionView(action=event.action, order_hash=event.order_hash,
                                       fill_id=event.fill_id, escrow=escrow, secret=None))
    return [Published("public_action", ctx.orders.get(event.order_hash), event.order_hash,
                      data, event.at)]


RULES: dict[type[Any], Rule] = {
    OrderSubmitted: _order_created,
    OrderStatusChanged: _status_changed,
    PriceUpdated: _price_updated,
    EscrowCreated: _escrow_created,
    SecretShared: _secret_shared,
    PublicActionAvailable: _public_action,
}
"""Domain event type -> the function that turns it into public events."""


class PublicEvents:
    """Maps domain events to public events with ``RULES`` (plus any added rules)."""

    def __init__(self, orders: OrderLookup, base_fee: BaseFeeSource,
                 renderer: OrderRenderer | None = None,
                 escrows: EscrowLookup | None = None) -> None:
        """``renderer``: the order JSON's renderer, shared with the API (``None``: one of
        its own, showing no fills); ``escrows``: the escrow projection, for the escrow a
        public action names (``None``: none are known, no action is announced)."""
        self._ctx = MapContext(orders=orders, base_fee=base_fee,
                               encode=msgspec.json.Encoder().encode,
                               renderer=renderer or OrderRenderer(),
                               escrows=escrows or _NoEscrows())
        self._rules: dict[type[Any], Rule] = dict(RULES)

    def add_rule(self, event_type: type[Any], rule: Rule) -> None:
        self._rules[event_type] = rule

    def handles(self, event_type: type[Any]) -> bool:
        return event_type in self._rules

    def map(self, event: Any) -> list[PublicEvent]:
        rule = self._rules.get(type(event))
        if rule is None:
            return []
        out = []
        for p in rule(event, self._ctx):
            order = None if p.entry is None else p.entry.signed.order
            out.append(PublicEvent(
                event=p.event,
                channels=channels_of(p.event, p.order_hash),
                data=p.data,
                order_hash=p.order_hash,
                src_chain=None if order is None else order.src_chain,
                dst_chain=None if order is None else order.dst_chain,
                maker=None if order is None else order.maker,
                at=p.at,
            ))
        return out
