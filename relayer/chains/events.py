"""Events the chain monitors derive from escrows, the same shape for both chains.

The settlement coordinator reasons about escrows without knowing which chain
they live on, so both monitors translate what they see into these events.
They are stored in one stream per chain (``chain_stream``), versioned by the
monitor in the order it derived them, in the same store transaction as the
monitor's cursor. A reorg or rollback never deletes a record: the monitor
appends ``ChainEventReverted`` for every event of a block that left the chain,
and projections drop what it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from relayer.events.codec import EventCodec


class EscrowRole(StrEnum):
    SRC = "src"
    """Holds the maker's funds on the source chain."""
    DST = "dst"
    """Holds the resolver's funds for the maker on the destination chain."""


def chain_stream(chain: str) -> str:
    """The log stream that holds one chain's derived events."""
    return f"chain:{chain}"


@dataclass(frozen=True, slots=True)
class ChainPoint:
    """Where an observation was made; ``(chain, block_id, tx_id, index)`` identifies it."""

    chain: str
    height: int
    """Block number (Ethereum) or block height (Cardano)."""
    slot: int
    """Ethereum: the block number again; Cardano: the block's slot."""
    block_id: str
    """The block hash, 0x-prefixed lowercase hex (Ethereum) or plain hex (Cardano)."""
    timestamp: int
    """The block's time, POSIX seconds."""
    tx_id: str
    index: int
    """Ethereum: the log index in the block; Cardano: the output (creation) or
    input (spend) index in the transaction."""

    @property
    def key(self) -> str:
        return f"{self.chain}:{self.block_id}:{self.tx_id}:{self.index}"


@dataclass(frozen=True, slots=True)
class EscrowImmutables:
    """An escrow's fixed terms, in the 1inch ``Immutables`` layout for both chains."""

    order_hash: str
    """0x-prefixed 32-byte hex."""
    hashlock: str
    """0x-prefixed keccak-256 of the secret (the Merkle leaf's secret for partial fills)."""
    maker: str
    """Chain-native text: an EIP-55 address, or a Cardano address / key hash as hex."""
    taker: str
    token: str
    """The asset id as the chain registry names it (an ERC-20 address, ``lovelace``,
    ``policy.name``)."""
    amount: int
    safety_deposit: int
    timelocks: int
    """Packed as in docs/protocol.md: stage offsets in seconds plus ``deployedAt`` in
    bits 224..255. Cardano's absolute POSIX-ms timelocks are converted to it."""


@dataclass(frozen=True, slots=True)
class DstComplement:
    """What a source escrow promises on the destination chain.

    The 1inch ``DstImmutablesComplement``.
    """

    maker: str
    """The receiver on the destination chain."""
    amount: int
    """The destination amount the resolver committed to when the source escrow was created."""
    token: str
    safety_deposit: int
    chain_id: int


@dataclass(frozen=True, slots=True)
class LockOrigin:
    """Where a Cardano source escrow's funds came from (ARCHITECTURE section 5).

    A Fill spends one output at the order script (``lock``). That output is either
    the first of its lineage (``root == lock``: whoever paid it to the script) or
    the continuing output a previous Fill of the same order left there, whose own
    root it inherits. Only escrows whose root is the order's registered
    ``src_order_utxo`` hold the maker's funds; anyone can pay the order script
    with a copy of the order's datum.
    """

    lock: str
    """``<tx id>#<output index>`` of the order-script output the Fill spent."""
    root: str
    """The first output of that output's lineage."""
    filled_before: int
    """The spent output's datum ``filled``: the order's amount filled before this fill."""
    depth: int
    """Fills of this lineage before this one (0 for a fill of the root)."""


@dataclass(frozen=True, slots=True)
class EscrowCreated:
    role: EscrowRole
    escrow: str
    """Ethereum: the escrow's EIP-55 address; Cardano: ``<tx id>#<output index>``."""
    immutables: EscrowImmutables
    complement: DstComplement | None
    """Present for source escrows only."""
    point: ChainPoint
    origin: LockOrigin | None = None
    """Cardano source escrows: the order-lock lineage their Fill spent. None on
    Ethereum, where only the configured factory's creations are indexed."""


@dataclass(frozen=True, slots=True)
class EscrowWithdrawn:
    """A withdrawal: the secret is public from now on."""

    escrow: str
    secret: str
    """0x-prefixed 32-byte hex."""
    point: ChainPoint


@dataclass(frozen=True, slots=True)
class EscrowCancelled:
    escrow: str
    point: ChainPoint


@dataclass(frozen=True, slots=True)
class FundsRescued:
    escrow: str
    token: str
    amount: int
    point: ChainPoint


@dataclass(frozen=True, slots=True)
class ChainEventReverted:
    """The block that held an earlier event left the chain (reorg or rollback)."""

    event_type: str
    """The reverted event's class name."""
    escrow: str
    point: ChainPoint
    """The reverted event's point, so projections can find and drop it."""


EscrowEvent = EscrowCreated | EscrowWithdrawn | EscrowCancelled | FundsRescued
ChainEvent = EscrowEvent | ChainEventReverted
CHAIN_EVENTS: tuple[type[ChainEvent], ...] = (
    EscrowCreated, EscrowWithdrawn, EscrowCancelled, FundsRescued, ChainEventReverted,
)
CHAIN_CODEC = EventCodec(CHAIN_EVENTS)
