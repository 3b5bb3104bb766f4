"""The JSON form of orders (docs/protocol.md), as strict msgspec structs.

Amounts travel as decimal strings; these structs only check shape and types.
Meaning (chains, addresses, timelocks, signatures) is checked in
``relayer.orders.validation``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

Amount = Annotated[
    str, Meta(pattern=r"^(0|[1-9][0-9]{0,77})$", description="decimal integer in base units")
]
Hex32 = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 bytes as 0x hex")]
U16 = Annotated[int, Meta(ge=0, le=(1 << 16) - 1)]
U24 = Annotated[int, Meta(ge=0, le=(1 << 24) - 1)]
U32 = Annotated[int, Meta(ge=0, le=(1 << 32) - 1)]
UnixTime = Annotated[int, Meta(ge=0, le=(1 << 32) - 1, description="unix seconds")]
ChainField = Annotated[str, Meta(min_length=1, max_length=32)]
AddressField = Annotated[str, Meta(min_length=1, max_length=128)]
AssetField = Annotated[str, Meta(min_length=1, max_length=130)]


class AuctionPointWire(msgspec.Struct, forbid_unknown_fields=True):
    rate_bump: U24
    delay: U16


class AuctionWire(msgspec.Struct, forbid_unknown_fields=True):
    start_time: UnixTime
    duration: U24
    initial_rate_bump: U24
    points: Annotated[list[AuctionPointWire], Meta(max_length=255)] = []
    gas_bump_estimate: U24 = 0
    gas_price_estimate: U32 = 0


class TimelocksWire(msgspec.Struct, forbid_unknown_fields=True):
    src_withdrawal: U32
    src_public_withdrawal: U32
    src_cancellation: U32
    src_public_cancellation: U32
    dst_withdrawal: U32
    dst_public_withdrawal: U32
    dst_cancellation: U32


class OrderWire(msgspec.Struct, forbid_unknown_fields=True):
    salt: Amount
    src_chain: ChainField
    dst_chain: ChainField
    maker: AddressField
    receiver: AddressField
    maker_asset: AssetField
    taker_asset: AssetField
    making_amount: Amount
    taking_amount: Amount
    auction: AuctionWire
    hashlock: Hex32
    parts: Annotated[int, Meta(ge=1, le=1 << 16)]
    timelocks: TimelocksWire
    src_safety_deposit: Amount
    dst_safety_deposit: Amount
    deadline: UnixTime


class CoseSignatureWire(msgspec.Struct, forbid_unknown_fields=True):
    """CIP-8 / CIP-30 ``signData`` output."""

    signature: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]+$", max_length=4096)]
    key: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]+$", max_length=512)]


EvmSignature = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{130}$")]
Signature = EvmSignature | CoseSignatureWire


class UtxoRefWire(msgspec.Struct, forbid_unknown_fields=True):
    tx_id: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{64}$")]
    index: Annotated[int, Meta(ge=0, le=(1 << 16) - 1)]


SealedSecret = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{160}$",
                                   description="a 32-byte secret in a sealed box (80 bytes)")]


class CustodyWire(msgspec.Struct, forbid_unknown_fields=True):
    """The maker's secrets sealed to the relayer's custody key (docs/protocol.md)."""

    key_id: Hex32
    sealed_secrets: Annotated[list[SealedSecret], Meta(min_length=1,
                                                       max_length=(1 << 16) + 1)]


class OrderSubmissionWire(msgspec.Struct, forbid_unknown_fields=True):
    order: OrderWire
    secret_hashes: Annotated[list[Hex32], Meta(min_length=1, max_length=(1 << 16) + 1)]
    signature: Signature
    src_order_utxo: UtxoRefWire | None = None
    custody: CustodyWire | None = None


class CancelWire(msgspec.Struct, forbid_unknown_fields=True):
    signature: Signature
