"""What the Cardano monitor knows of the chain so far: live events and watched outputs.

``ChainState`` holds every derived event that has not been reverted, in chain order, and
the outputs at our scripts that are still unspent (escrows and order locks) with what
the decoder needs when one is spent. Applying an event updates both; a rollback to a slot
undoes the events after it, newest first, and returns them so the monitor can write one
``ChainEventReverted`` for each. The same fold rebuilds the state from the chain stream
at start (reversal records undo what they name).

Every live event is kept: a rollback can reach any of them in principle (the devnet's
fresh genesis rolls back to the origin). That is a few hundred bytes per escrow.

A watched order lock keeps the ``OrderLocked`` event that created it: its terms, ``filled``
and its lineage (root and depth), which the decoder hands on to the continuing output and
to the source escrow a Fill of it creates. The lineage lives in the events, so the fold of
the stored stream rebuilds it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from relayer.chains.cardano.events import OrderLocked, OrderLockSpent
from relayer.chains.events import (
    ChainEventReverted,
    EscrowCancelled,
    EscrowCreated,
    EscrowWithdrawn,
    FundsRescued,
)
from relayer.errors import StoreError

CardanoEvent = (EscrowCreated | EscrowWithdrawn | EscrowCancelled | OrderLocked
                | OrderLockSpent)
CARDANO_EVENTS = (EscrowCreated, EscrowWithdrawn, EscrowCancelled, OrderLocked, OrderLockSpent)


class Kind(StrEnum):
    ESCROW = "escrow"
    ORDER = "order"


@dataclass(frozen=True, slots=True)
class Watched:
    """An unspent output at one of our scripts."""

    kind: Kind
    order_hash: str
    hashlock: str
    """0x hex (escrows); empty for order locks."""
    maker: str
    lock: OrderLocked | None = None
    """Order locks: the event that created the output (terms, ``filled``, lineage)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    event: CardanoEvent
    ref: str
    slot: int
    restored: Watched | None
    """The output this event spent, to restore when it is undone."""


def subject(event: CardanoEvent | FundsRescued) -> str:
    """The output reference an event is about (``ChainEventReverted.escrow``)."""
    if isinstance(event, OrderLocked | OrderLockSpent):
        return event.lock
    return event.escrow


class ChainState:
    def __init__(self) -> None:
        self.watched: dict[str, Watched] = {}
        self._entries: list[_Entry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def events(self) -> list[CardanoEvent]:
        """The live events, oldest first."""
        return [entry.event for entry in self._entries]

    def apply(self, event: CardanoEvent) -> None:
        ref = subject(event)
        restored: Watched | None = None
        if isinstance(event, EscrowCreated):
            terms = event.immutables
            self.watched[ref] = Watched(Kind.ESCROW, terms.order_hash, terms.hashlock,
                                        terms.maker)
        elif isinstance(event, OrderLocked):
            self.watched[ref] = Watched(Kind.ORDER, event.order_hash, "", event.maker, event)
        else:
            restored = self.watched.pop(ref, None)
        self._entries.append(_Entry(event, ref, event.point.slot, restored))

    def revert_after(self, slot: int) -> list[CardanoEvent]:
        """Undo the events of blocks after ``slot``, newest first; return them."""
        undone = []
        while self._entries and self._entries[-1].slot > slot:
            undone.append(self._undo(self._entries.pop()))
        return undone

    def fold_reversal(self, reversal: ChainEventReverted) -> None:
        """Undo the event a stored reversal record names (it is always the newest live one
        of its block, since the monitor reverts newest first)."""
        for i in range(len(self._entries) - 1, -1, -1):
            entry = self._entries[i]
            if (type(entry.event).__name__ == reversal.event_type
                    and entry.event.point.key == reversal.point.key):
                self._undo(self._entries.pop(i))
                return
        raise StoreError(f"chain stream reverts an unknown {reversal.event_type} at "
                         f"{reversal.point.key}")

    def _undo(self, entry: _Entry) -> CardanoEvent:
        if isinstance(entry.event, EscrowCreated | OrderLocked):
            self.watched.pop(entry.ref, None)
        elif entry.restored is not None:
            self.watched[entry.ref] = entry.restored
        return entry.event
