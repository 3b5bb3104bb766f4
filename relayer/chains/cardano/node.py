"""What the Cardano monitor and the order-lock check need from a Cardano node.

``CardanoNode`` is the chain-access protocol ``create_app(cardano=...)`` takes; the real
one speaks Ogmios v6 (``relayer.chains.cardano.ogmios.OgmiosNode``). Blocks and UTxOs stay
in their Ogmios JSON shapes (plain dicts): the decoder reads only the few fields it needs,
and building typed objects for every block would cost more than the whole decode.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from relayer.chains.cardano.slots import SlotClock

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Point:
    """A block on the chain: its slot and id (hex)."""

    slot: int
    id: str

    def to_json(self) -> Json:
        return {"slot": self.slot, "id": self.id}


@dataclass(frozen=True, slots=True)
class Tip:
    slot: int
    id: str
    height: int


Intersection = Point | None
"""A point, or ``None`` for the origin (before the first block)."""


@dataclass(frozen=True, slots=True)
class RollForward:
    block: Json
    """The block as Ogmios sends it (``id``, ``slot``, ``height``, ``ancestor``,
    ``transactions``...)."""
    tip: Tip | None


@dataclass(frozen=True, slots=True)
class RollBackward:
    point: Intersection
    tip: Tip | None


ChainSyncStep = RollForward | RollBackward


class IntersectionNotFound(Exception):
    """None of the offered points is on the node's chain (origin was not offered)."""


class ChainSync(Protocol):
    """One chain-sync session: a cursor on the node's chain, private to its connection."""

    async def slot_clock(self) -> SlotClock:
        """Slot to POSIX time conversion, from the node's system start and era summaries."""

    async def find_intersection(self, points: Sequence[Intersection]) -> Intersection:
        """Move the cursor to the newest of ``points`` on the chain; the first ``next`` is
        then a backward roll to it. Raise ``IntersectionNotFound`` if none is."""

    async def next(self) -> ChainSyncStep:
        """The next step after the cursor; waits at the tip for a new block."""

    def buffered(self) -> int:
        """Steps already received and not yet returned by ``next`` (0: ``next`` may wait)."""


class CardanoNode(Protocol):
    @property
    def url(self) -> str:
        """Where the node is, for logs and status (no credentials)."""

    def chain_sync(self) -> AbstractAsyncContextManager[ChainSync]:
        """Open a connection for chain sync; closing it ends the session."""

    async def utxos(self, refs: Sequence[tuple[str, int]]) -> list[Json]:
        """The unspent outputs among ``refs`` ((tx id hex, index)) in Ogmios' UTxO JSON
        (``transaction.id``, ``index``, ``address``, ``value``, ``datum``...); spent or
        unknown references are simply absent."""
