"""The order as the relayer reasons about it: integers, bytes and canonical text."""

from __future__ import annotations

from dataclasses import dataclass

from relayer.auction.details import AuctionDetails
from relayer.orders.timelocks import Timelocks


@dataclass(frozen=True, slots=True)
class UtxoRef:
    tx_id: str
    index: int


@dataclass(frozen=True, slots=True)
class CoseSignature:
    signature: str
    key: str


MakerSignature = bytes | CoseSignature
"""65 bytes ``r || s || v`` for Ethereum makers, CIP-8 COSE for Cardano makers."""


@dataclass(frozen=True, slots=True)
class Order:
    salt: int
    src_chain: str
    dst_chain: str
    maker: str
    receiver: str
    maker_asset: str
    taker_asset: str
    making_amount: int
    taking_amount: int
    """The minimum taking amount: the price at the auction's end."""
    auction: AuctionDetails
    hashlock: bytes
    parts: int
    timelocks: Timelocks
    src_safety_deposit: int
    dst_safety_deposit: int
    deadline: int

    @property
    def secrets_count(self) -> int:
        return 1 if self.parts == 1 else self.parts + 1

    @property
    def allows_partial_fills(self) -> bool:
        return self.parts > 1


@dataclass(frozen=True, slots=True)
class Custody:
    """Secrets sealed to the relayer's custody key ``key_id``, in secret-index order."""

    key_id: str
    sealed: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """An order that passed validation, with everything that came with it."""

    order: Order
    order_hash: str
    signature: MakerSignature
    secret_hashes: tuple[bytes, ...]
    src_order_utxo: UtxoRef | None = None
    custody: Custody | None = None
