"""One entry to write any datum or redeemer of the Cardano escrow and order validators
(docs/protocol.md, "Cardano datums and redeemers").

The values and their layouts live with their validator: ``escrow_datum`` (escrow
datums and redeemers), ``order_datum`` (the order datum, Reclaim and Fill) and
``plutus_data`` (the parts they share, with the output tag). ``encode`` gives
definite-length CBOR; ``to_plutus_data`` wraps the same data for pycardano's
transaction builder.
"""

from __future__ import annotations

import cbor2
from pycardano import RawPlutusData

from relayer.chains.cardano.escrow_datum import (
    Cancel,
    DstEscrowDatum,
    EscrowDatum,
    EscrowRedeemer,
    PublicCancel,
    PublicWithdraw,
    SrcEscrowDatum,
    Withdraw,
    escrow_datum_to_primitive,
    escrow_redeemer_to_primitive,
)
from relayer.chains.cardano.order_datum import (
    Fill,
    OrderDatum,
    OrderRedeemer,
    Reclaim,
    order_datum_to_primitive,
    order_redeemer_to_primitive,
)
from relayer.chains.cardano.plutus_data import OutputTag, output_tag_to_primitive

Encodable = EscrowDatum | OrderDatum | EscrowRedeemer | OrderRedeemer | OutputTag


def to_primitive(value: Encodable) -> cbor2.CBORTag:
    """The value as cbor2 Plutus data (constructor tags around field lists)."""
    match value:
        case SrcEscrowDatum() | DstEscrowDatum():
            return escrow_datum_to_primitive(value)
        case OrderDatum():
            return order_datum_to_primitive(value)
        case Withdraw() | PublicWithdraw() | Cancel() | PublicCancel():
            return escrow_redeemer_to_primitive(value)
        case Reclaim() | Fill():
            return order_redeemer_to_primitive(value)
        case OutputTag():
            return output_tag_to_primitive(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode(value: Encodable) -> bytes:
    """Definite-length CBOR of the value's Plutus data."""
    return cbor2.dumps(to_primitive(value))


def to_plutus_data(value: Encodable) -> RawPlutusData:
    """For pycardano: an inline datum (``TransactionOutput(datum=...)``) or redeemer data."""
    return RawPlutusData(to_primitive(value))
