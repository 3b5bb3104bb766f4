"""Events only the Cardano monitor derives: the funds a maker locks at the order script.

A Cardano-source order starts as an output at the order script whose datum holds the
order's terms (docs/protocol.md). The monitor records each such output and how it is
spent; a ``Reclaim`` cancels the order, a ``Fill`` moves (part of) the funds into a source
escrow, reported separately as ``EscrowCreated``. They live in the ``chain:cardano``
stream beside the escrow events and are reverted the same way (``ChainEventReverted``
naming the lock in its ``escrow`` field).

Anyone can pay the order script with a copy of an order's datum, so each lock records its
lineage: the output it continues (a partial fill's continuing output) and the first output
of the chain of fills it belongs to. Only a lineage rooted at the order's registered lock
holds the maker's funds (docs/cardano-monitor.md, "Lock lineage").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from relayer.chains.events import CHAIN_EVENTS, ChainPoint
from relayer.events.codec import EventCodec


class LockSpend(StrEnum):
    RECLAIM = "reclaim"
    """The maker took the funds back: the order is cancelled."""
    FILL = "fill"
    """A resolver filled (part of) the order into a source escrow."""


@dataclass(frozen=True, slots=True)
class OrderLocked:
    lock: str
    """``<tx id>#<output index>`` of the output at the order script."""
    order_hash: str
    """0x-prefixed, from the datum."""
    maker: str
    """The datum's maker as a bech32 address."""
    asset: str
    """``lovelace`` or ``<policy hex>.<asset name hex>``."""
    making_amount: int
    filled: int
    """The making amount filled before this output (0 for the maker's own lock)."""
    locked: int
    """How much of ``asset`` the output really holds."""
    point: ChainPoint
    parent: str | None = None
    """The lock a ``Fill`` of the same transaction spent, when this output is exactly that
    Fill's continuing output; None for the first output of a lineage."""
    root: str = ""
    """The first output of this output's lineage: ``lock`` itself for a first output.
    Empty in records written before lineages were tracked, read as ``lock`` itself
    (``lineage_root``)."""
    depth: int = 0
    """Fills of the lineage before this output (0 for the first output)."""

    @property
    def lineage_root(self) -> str:
        return self.root or self.lock


@dataclass(frozen=True, slots=True)
class OrderLockSpent:
    lock: str
    order_hash: str
    maker: str
    spend: LockSpend
    point: ChainPoint


CARDANO_EVENTS: tuple[type[OrderLocked | OrderLockSpent], ...] = (OrderLocked, OrderLockSpent)
CARDANO_STREAM_CODEC = EventCodec((*CHAIN_EVENTS, *CARDANO_EVENTS))
"""The records of the ``chain:cardano`` stream: escrow events and order locks."""
