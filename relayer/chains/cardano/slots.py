"""Slot to POSIX time, from the node's system start and era summaries.

Ogmios reports each era's start and end as (slot, seconds since the system start) with
its slot length. A slot's time is its era's start time plus the slots since the era
started times the era's slot length. Slots past the last summary's end (the node cannot
promise them yet) are extrapolated with the last era's slot length, which is what every
Cardano era since Shelley has kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from relayer.errors import ChainError


@dataclass(frozen=True, slots=True)
class Era:
    start_slot: int
    start_ms: int
    """Milliseconds after the system start."""
    slot_length_ms: int


class SlotClock:
    def __init__(self, system_start_ms: int, eras: Sequence[Era]) -> None:
        if not eras:
            raise ChainError("the node reported no era summaries")
        self._system_start_ms = system_start_ms
        # The last era starting at or before a slot is the one holding it; empty eras (a
        # devnet forks through every era at slot 0) start and end at the same slot.
        self._eras = sorted(eras, key=lambda era: era.start_slot)

    @classmethod
    def from_ogmios(cls, start_time: str, summaries: Sequence[dict[str, Any]]) -> SlotClock:
        """From ``queryNetwork/startTime`` and ``queryLedgerState/eraSummaries``."""
        try:
            started = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
            if started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
            eras = [
                Era(
                    start_slot=int(summary["start"]["slot"]),
                    start_ms=_ms(summary["start"]["time"]),
                    slot_length_ms=int(summary["parameters"]["slotLength"]["milliseconds"]),
                )
                for summary in summaries
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ChainError(f"unreadable era summaries or start time: {exc}") from exc
        return cls(int(started.timestamp() * 1000), eras)

    def posix_ms(self, slot: int) -> int:
        era = self._eras[0]
        for candidate in self._eras:
            if candidate.start_slot > slot:
                break
            era = candidate
        return self._system_start_ms + era.start_ms + (slot - era.start_slot) * era.slot_length_ms

    def posix_seconds(self, slot: int) -> int:
        return self.posix_ms(slot) // 1000


def _ms(time: dict[str, Any]) -> int:
    if "seconds" in time:
        return int(time["seconds"]) * 1000
    return int(time["milliseconds"])
