"""EIP-712 digests of orders and cancellations (docs/protocol.md).

The Solidity escrow factory recomputes exactly these digests on chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relayer.signing.keccak import keccak256

DOMAIN_NAME = "RelayerEscrowFactory"
DOMAIN_VERSION = "1"

DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
ORDER_TYPE = (
    b"Order(uint256 salt,uint256 srcChainId,uint256 dstChainId,bytes maker,bytes receiver,"
    b"bytes makerAsset,bytes takerAsset,uint256 makingAmount,uint256 takingAmount,"
    b"bytes auctionDetails,bytes32 hashlock,uint256 parts,uint256 timelocks,"
    b"uint256 srcSafetyDeposit,uint256 dstSafetyDeposit,uint256 deadline)"
)
CANCEL_TYPE = b"CancelOrder(bytes32 orderHash)"

DOMAIN_TYPEHASH = keccak256(DOMAIN_TYPE)
ORDER_TYPEHASH = keccak256(ORDER_TYPE)
CANCEL_TYPEHASH = keccak256(CANCEL_TYPE)


@dataclass(frozen=True, slots=True)
class Domain:
    chain_id: int
    verifying_contract: bytes
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION
    _separator: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.verifying_contract) != 20:
            raise ValueError("verifying_contract must be 20 bytes")
        separator = keccak256(
            DOMAIN_TYPEHASH,
            keccak256(self.name.encode()),
            keccak256(self.version.encode()),
            _word(self.chain_id),
            bytes(12) + self.verifying_contract,
        )
        object.__setattr__(self, "_separator", separator)

    def separator(self) -> bytes:
        return self._separator


@dataclass(frozen=True, slots=True)
class OrderStruct:
    """The signed order exactly as EIP-712 sees it: integers and raw bytes."""

    salt: int
    src_chain_id: int
    dst_chain_id: int
    maker: bytes
    receiver: bytes
    maker_asset: bytes
    taker_asset: bytes
    making_amount: int
    taking_amount: int
    auction_details: bytes
    hashlock: bytes
    parts: int
    timelocks: int
    src_safety_deposit: int
    dst_safety_deposit: int
    deadline: int

    def struct_hash(self) -> bytes:
        if len(self.hashlock) != 32:
            raise ValueError("hashlock must be 32 bytes")
        return keccak256(
            ORDER_TYPEHASH,
            _word(self.salt),
            _word(self.src_chain_id),
            _word(self.dst_chain_id),
            keccak256(self.maker),
            keccak256(self.receiver),
            keccak256(self.maker_asset),
            keccak256(self.taker_asset),
            _word(self.making_amount),
            _word(self.taking_amount),
            keccak256(self.auction_details),
            self.hashlock,
            _word(self.parts),
            _word(self.timelocks),
            _word(self.src_safety_deposit),
            _word(self.dst_safety_deposit),
            _word(self.deadline),
        )


def typed_digest(domain: Domain, struct_hash: bytes) -> bytes:
    return keccak256(b"\x19\x01", domain.separator(), struct_hash)


def order_digest(order: OrderStruct, domain: Domain) -> bytes:
    """The order hash: the digest the maker signs."""
    return typed_digest(domain, order.struct_hash())


def cancel_digest(order_hash: bytes, domain: Domain) -> bytes:
    """The digest a maker signs to cancel the order ``order_hash``."""
    if len(order_hash) != 32:
        raise ValueError("order_hash must be 32 bytes")
    return typed_digest(domain, keccak256(CANCEL_TYPEHASH, order_hash))


def _word(value: int) -> bytes:
    if not 0 <= value < 1 << 256:
        raise ValueError("value does not fit in uint256")
    return value.to_bytes(32, "big")
