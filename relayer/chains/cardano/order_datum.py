"""The order validator's Plutus data (docs/protocol.md, "Cardano datums and
redeemers"): the datum of a Cardano-source order locked at the order script, and the
maker's Reclaim or a resolver's Fill that spends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.chains.cardano.escrow_datum import SrcEscrowDatum
from relayer.chains.cardano.plutus_data import (
    HASH_LEN,
    AssetClass,
    DatumError,
    PlutusAddress,
    address_to_primitive,
    asset_to_primitive,
    check_bytes,
    check_natural,
    constr,
    load_data,
    read_address,
    read_asset,
    read_fields,
    read_list,
)
from relayer.orders.timelocks import Stage, Timelocks

_U32 = (1 << 32) - 1
_TIMELOCKS_LIMIT = 1 << 224
"""The order datum's packed timelocks carry no ``deployedAt`` (bits 224..255 are zero)."""


@dataclass(frozen=True, slots=True)
class OrderDatum:
    """A Cardano-source order locked at the order script: constructor 0.

    The terms of the signed order the validator enforces, plus ``filled``: the making
    amount filled before (0 when locked, raised by each partial fill's continuing output).
    """

    order_hash: bytes
    maker: PlutusAddress
    maker_asset: AssetClass
    making_amount: int
    taking_amount: int
    auction: AuctionDetails
    hashlock: bytes
    parts: int
    timelocks: Timelocks
    src_safety_deposit: int
    dst_safety_deposit: int
    deadline: int
    filled: int = 0

    def __post_init__(self) -> None:
        check_bytes("order_hash", self.order_hash, HASH_LEN)
        check_bytes("hashlock", self.hashlock, HASH_LEN)
        for name in ("making_amount", "taking_amount", "parts", "src_safety_deposit",
                     "dst_safety_deposit", "deadline", "filled"):
            check_natural(name, getattr(self, name))
        _check_auction(self.auction)
        for offset in self.timelocks.offsets():
            if not isinstance(offset, int) or not 0 <= offset <= _U32:
                raise DatumError("timelock offsets must be integers in [0, 2**32)")

    @property
    def remaining(self) -> int:
        return self.making_amount - self.filled

    def src_escrow(
        self,
        *,
        taker: PlutusAddress,
        amount: int,
        hashlock: bytes,
        dst_amount: int,
        deployed_at_ms: int,
    ) -> SrcEscrowDatum:
        """The source escrow a Fill must create when its validity interval starts at
        ``deployed_at_ms``: each stage begins ``offset`` seconds later."""

        def at(stage: Stage) -> int:
            return deployed_at_ms + self.timelocks.offsets()[stage] * 1000

        return SrcEscrowDatum(
            order_hash=self.order_hash,
            hashlock=hashlock,
            maker=self.maker,
            taker=taker,
            asset=self.maker_asset,
            amount=amount,
            safety_deposit=self.src_safety_deposit,
            withdrawal=at(Stage.SRC_WITHDRAWAL),
            public_withdrawal=at(Stage.SRC_PUBLIC_WITHDRAWAL),
            cancellation=at(Stage.SRC_CANCELLATION),
            public_cancellation=at(Stage.SRC_PUBLIC_CANCELLATION),
            dst_amount=dst_amount,
        )


def _check_auction(auction: AuctionDetails) -> None:
    for name in ("start_time", "duration", "initial_rate_bump", "gas_bump_estimate",
                 "gas_price_estimate"):
        check_natural(f"auction.{name}", getattr(auction, name))
    for point in auction.points:
        check_natural("auction point rate bump", point.rate_bump)
        check_natural("auction point delay", point.delay)


# ---------------------------------------------------------------------------- redeemers


@dataclass(frozen=True, slots=True)
class Reclaim:
    """Order redeemer 0: the maker takes the locked funds back."""


@dataclass(frozen=True, slots=True)
class Fill:
    """Order redeemer 1: a resolver fills into the source escrow at ``escrow_output``.

    ``order_output`` is the continuing order output of a partial fill (ignored when the
    fill completes the order); ``secret_index`` and ``proof`` prove the escrow's hashlock
    against the order's Merkle root (ignored for single-fill orders).
    """

    escrow_output: int
    order_output: int = 0
    secret_index: int = 0
    proof: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        check_natural("escrow_output", self.escrow_output)
        check_natural("order_output", self.order_output)
        check_natural("secret_index", self.secret_index)
        for node in self.proof:
            check_bytes("proof node", node, HASH_LEN)


OrderRedeemer = Reclaim | Fill

# ---------------------------------------------------------------------------- encoding


def _auction(a: AuctionDetails) -> cbor2.CBORTag:
    points = [constr(0, p.rate_bump, p.delay) for p in a.points]
    return constr(0, a.start_time, a.duration, a.initial_rate_bump, points,
                  a.gas_bump_estimate, a.gas_price_estimate)


def order_datum_to_primitive(datum: OrderDatum) -> cbor2.CBORTag:
    return constr(0, datum.order_hash, address_to_primitive(datum.maker),
                  asset_to_primitive(datum.maker_asset), datum.making_amount,
                  datum.taking_amount, _auction(datum.auction), datum.hashlock, datum.parts,
                  datum.timelocks.pack(), datum.src_safety_deposit, datum.dst_safety_deposit,
                  datum.deadline, datum.filled)


def order_redeemer_to_primitive(redeemer: OrderRedeemer) -> cbor2.CBORTag:
    if isinstance(redeemer, Reclaim):
        return constr(0)
    return constr(1, redeemer.escrow_output, redeemer.order_output, redeemer.secret_index,
                  list(redeemer.proof))


# ---------------------------------------------------------------------------- decoding


def decode_order_datum(data: Any) -> OrderDatum:
    """An order datum from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    _, f = read_fields(load_data(data), "order datum", {0: 13})
    packed = f[8]
    check_natural("timelocks", packed)
    if packed >= _TIMELOCKS_LIMIT:
        raise DatumError("order datum: timelocks carry a deployedAt")
    return OrderDatum(
        order_hash=f[0], maker=read_address(f[1]), maker_asset=read_asset(f[2]),
        making_amount=f[3], taking_amount=f[4], auction=_read_auction(f[5]), hashlock=f[6],
        parts=f[7], timelocks=Timelocks.unpack(packed)[0], src_safety_deposit=f[9],
        dst_safety_deposit=f[10], deadline=f[11], filled=f[12],
    )


def decode_order_redeemer(data: Any) -> OrderRedeemer:
    """An order redeemer from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    index, f = read_fields(load_data(data), "order redeemer", {0: 0, 1: 4})
    if index == 0:
        return Reclaim()
    return Fill(f[0], f[1], f[2], tuple(read_list("proof", f[3])))


def _read_auction(value: Any) -> AuctionDetails:
    """Unchecked: ``OrderDatum`` checks every field."""
    _, f = read_fields(value, "auction", {0: 6})
    points = tuple(AuctionPoint(*read_fields(item, "auction point", {0: 2})[1])
                   for item in read_list("auction points", f[3]))
    return AuctionDetails(start_time=f[0], duration=f[1], initial_rate_bump=f[2],
                          points=points, gas_bump_estimate=f[4], gas_price_estimate=f[5])
