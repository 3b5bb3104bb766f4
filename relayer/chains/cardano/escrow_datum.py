"""The escrow validator's Plutus data (docs/protocol.md, "Cardano datums and
redeemers"): the datum of a source or destination escrow and the four ways to spend one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2

from relayer.chains.cardano.plutus_data import (
    HASH_LEN,
    AssetClass,
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
)


@dataclass(frozen=True, slots=True)
class SrcEscrowDatum:
    """A source escrow (Cardano is the source chain): constructor 0.

    Times are absolute POSIX milliseconds. ``dst_amount`` is what the resolver promised
    to deliver on the destination chain, checked against the auction curve at creation.
    """

    order_hash: bytes
    hashlock: bytes
    maker: PlutusAddress
    taker: PlutusAddress
    asset: AssetClass
    amount: int
    safety_deposit: int
    withdrawal: int
    public_withdrawal: int
    cancellation: int
    public_cancellation: int
    dst_amount: int

    def __post_init__(self) -> None:
        _check_escrow_common(self)
        for name in ("withdrawal", "public_withdrawal", "cancellation", "public_cancellation",
                     "dst_amount"):
            check_natural(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class DstEscrowDatum:
    """A destination escrow (Cardano is the destination chain): constructor 1."""

    order_hash: bytes
    hashlock: bytes
    maker: PlutusAddress
    taker: PlutusAddress
    asset: AssetClass
    amount: int
    safety_deposit: int
    withdrawal: int
    public_withdrawal: int
    cancellation: int

    def __post_init__(self) -> None:
        _check_escrow_common(self)
        for name in ("withdrawal", "public_withdrawal", "cancellation"):
            check_natural(name, getattr(self, name))


EscrowDatum = SrcEscrowDatum | DstEscrowDatum


def _check_escrow_common(datum: EscrowDatum) -> None:
    check_bytes("order_hash", datum.order_hash, HASH_LEN)
    check_bytes("hashlock", datum.hashlock, HASH_LEN)
    check_natural("amount", datum.amount)
    check_natural("safety_deposit", datum.safety_deposit)


# ---------------------------------------------------------------------------- redeemers


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Escrow redeemer 0: the taker withdraws with the secret."""

    secret: bytes

    def __post_init__(self) -> None:
        check_bytes("secret", self.secret, HASH_LEN)


@dataclass(frozen=True, slots=True)
class PublicWithdraw:
    """Escrow redeemer 1: anyone withdraws with the secret in the public window."""

    secret: bytes

    def __post_init__(self) -> None:
        check_bytes("secret", self.secret, HASH_LEN)


@dataclass(frozen=True, slots=True)
class Cancel:
    """Escrow redeemer 2: the taker cancels."""


@dataclass(frozen=True, slots=True)
class PublicCancel:
    """Escrow redeemer 3: anyone cancels a source escrow in the public window."""


EscrowRedeemer = Withdraw | PublicWithdraw | Cancel | PublicCancel

# ---------------------------------------------------------------------------- encoding


def _escrow_head(d: EscrowDatum) -> list[Any]:
    return [d.order_hash, d.hashlock, address_to_primitive(d.maker),
            address_to_primitive(d.taker), asset_to_primitive(d.asset), d.amount,
            d.safety_deposit]


def escrow_datum_to_primitive(datum: EscrowDatum) -> cbor2.CBORTag:
    if isinstance(datum, SrcEscrowDatum):
        return constr(0, *_escrow_head(datum), datum.withdrawal, datum.public_withdrawal,
                      datum.cancellation, datum.public_cancellation, datum.dst_amount)
    return constr(1, *_escrow_head(datum), datum.withdrawal, datum.public_withdrawal,
                  datum.cancellation)


def escrow_redeemer_to_primitive(redeemer: EscrowRedeemer) -> cbor2.CBORTag:
    match redeemer:
        case Withdraw():
            return constr(0, redeemer.secret)
        case PublicWithdraw():
            return constr(1, redeemer.secret)
        case Cancel():
            return constr(2)
        case PublicCancel():
            return constr(3)


# ---------------------------------------------------------------------------- decoding


def decode_escrow_datum(data: Any) -> EscrowDatum:
    """An escrow datum from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    index, f = read_fields(load_data(data), "escrow datum", {0: 12, 1: 10})
    maker, taker, asset = read_address(f[2]), read_address(f[3]), read_asset(f[4])
    if index == 0:
        return SrcEscrowDatum(f[0], f[1], maker, taker, asset, f[5], f[6], f[7], f[8], f[9],
                              f[10], f[11])
    return DstEscrowDatum(f[0], f[1], maker, taker, asset, f[5], f[6], f[7], f[8], f[9])


def decode_escrow_redeemer(data: Any) -> EscrowRedeemer:
    """An escrow redeemer from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    index, f = read_fields(load_data(data), "escrow redeemer", {0: 1, 1: 1, 2: 0, 3: 0})
    if index == 0:
        return Withdraw(f[0])
    if index == 1:
        return PublicWithdraw(f[0])
    return Cancel() if index == 2 else PublicCancel()
