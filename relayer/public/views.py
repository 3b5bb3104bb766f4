"""How orders look in responses, and their rendering with a per-order cache.

An order's JSON has a static part (changes only with the order's version and its fills'
revision) and a price part (changes with the second and the base fee). Both are cached
by the ``OrderRenderer`` (the presentation's, not the order book's), so polling 100
orders costs little more than joining bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

import msgspec

from relayer.auction.curve import rate_bump, taking_amount
from relayer.errors import ValidationError
from relayer.integers import is_canonical
from relayer.orders.book import OrderEntry
from relayer.orders.codec import order_to_wire, signature_to_wire
from relayer.orders.wire import Amount, OrderWire, Signature, UtxoRefWire
from relayer.settlement.ledger import OrderFill

_encoder = msgspec.json.Encoder()


class PriceView(msgspec.Struct):
    at: int
    """Unix seconds the price is for."""
    rate_bump: int
    taking_amount: Amount
    """What a resolver must deliver for the whole order at ``at``."""
    base_fee: Amount
    """Ethereum base fee (wei) used for the gas adjustment."""


class OrderFillView(msgspec.Struct):
    making_amount: Amount
    taking_amount: Amount
    secret_index: int
    outcome: str
    """``open``, ``settled`` (the maker was paid) or ``refunded`` (the maker has it back)."""


class _OrderStatic(msgspec.Struct):
    order_hash: str
    status: str
    status_reason: str
    order: OrderWire
    secret_hashes: list[str]
    signature: Signature
    src_order_utxo: UtxoRefWire | None
    submitted_at: int
    updated_at: int
    auction_start: int
    auction_end: int
    filled_making_amount: Amount
    """What authentic fills took from the order (foreign escrows never count)."""
    remaining_making_amount: Amount
    executed_making_amount: Amount
    """The part of the filled amount whose fills settled."""
    refunded_making_amount: Amount
    """The part of the filled amount the maker got back (cancelled fills)."""
    fills: list[OrderFillView]


class OrderView(_OrderStatic):
    price: PriceView


class OrderList(msgspec.Struct):
    orders: list[OrderView]
    next_cursor: str | None


class SubmitResult(msgspec.Struct):
    order_hash: str
    status: str


def price_of(entry: OrderEntry, at: int, base_fee: int) -> PriceView:
    order = entry.signed.order
    return PriceView(
        at=at,
        rate_bump=rate_bump(order.auction, at, base_fee),
        taking_amount=str(taking_amount(order.taking_amount, order.auction, at, base_fee)),
        base_fee=str(base_fee),
    )


ShownFills = Mapping[str, tuple[Sequence[OrderFill], int]]
"""Per order, the fills it shows and a revision that grows when they change
(``relayer.settlement.ledger.FillLedger.shown``; an order with none is absent)."""


class _Rendered:
    """One order's bytes: the static part at the order's version and fills' revision,
    and the whole body at one second and base fee."""

    __slots__ = ("version", "revision", "static", "at", "base_fee", "body")

    def __init__(self, version: int, revision: int, static: bytes) -> None:
        self.version = version
        self.revision = revision
        self.static = static
        self.at = -1
        self.base_fee = -1
        self.body = b""


class OrderRenderer:
    """Renders orders as JSON (``OrderView``), caching each order's bytes until the order
    or its fills change. ``shown``: settlement's fills (``None``: orders show none).

    Polling renders 100 orders a request, so the cached path is a few lookups and
    compares (B2 in docs/benchmarks.md)."""

    def __init__(self, shown: ShownFills | None = None) -> None:
        self._shown: ShownFills = shown if shown is not None else {}
        self._cache: dict[str, _Rendered] = {}

    def order(self, entry: OrderEntry, at: int, base_fee: int) -> bytes:
        """The JSON of ``OrderView`` for ``entry`` priced at ``at``."""
        order_hash = entry.signed.order_hash
        cached = self._cache.get(order_hash)
        shown = self._shown.get(order_hash)
        revision = 0 if shown is None else shown[1]
        if cached is None or cached.version != entry.version or cached.revision != revision:
            static = _encoder.encode(_static_view(entry, () if shown is None else shown[0]))
            cached = self._cache[order_hash] = _Rendered(entry.version, revision, static)
        elif cached.at == at and cached.base_fee == base_fee:
            return cached.body
        body = (cached.static[:-1] + b',"price":'
                + _encoder.encode(price_of(entry, at, base_fee)) + b"}")
        cached.at, cached.base_fee, cached.body = at, base_fee, body
        return body

    def page(self, entries: list[OrderEntry], next_position: int | None, at: int,
             base_fee: int) -> bytes:
        cursor = (b"null" if next_position is None
                  else _encoder.encode(encode_cursor(next_position)))
        order = self.order
        return (b'{"orders":[' + b",".join([order(e, at, base_fee) for e in entries])
                + b'],"next_cursor":' + cursor + b"}")


def _static_view(entry: OrderEntry, fills: Sequence[OrderFill]) -> _OrderStatic:
    signed = entry.signed
    order = signed.order
    utxo = signed.src_order_utxo
    filled = sum(f.making_amount for f in fills)
    return _OrderStatic(
        order_hash=signed.order_hash,
        status=str(entry.status),
        status_reason=entry.status_reason,
        order=order_to_wire(order),
        secret_hashes=["0x" + h.hex() for h in signed.secret_hashes],
        signature=signature_to_wire(signed.signature),
        src_order_utxo=None if utxo is None else UtxoRefWire(tx_id=utxo.tx_id, index=utxo.index),
        submitted_at=entry.submitted_at,
        updated_at=entry.updated_at,
        auction_start=order.auction.start_time,
        auction_end=order.auction.end_time,
        filled_making_amount=str(filled),
        remaining_making_amount=str(order.making_amount - filled),
        executed_making_amount=str(sum(f.making_amount for f in fills
                                       if f.outcome == "settled")),
        refunded_making_amount=str(sum(f.making_amount for f in fills
                                       if f.outcome == "refunded")),
        fills=[OrderFillView(making_amount=str(f.making_amount), taking_amount=str(f.taking_amount),
                        secret_index=f.secret_index, outcome=f.outcome) for f in fills],
    )


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("p") or not is_canonical(text[1:], max_digits=19):
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("cursor is not one this API returned",
                              code="INVALID_CURSOR") from None
