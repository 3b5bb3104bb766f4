"""The monitor's durable position: written as the ``ethereum`` checkpoint with every batch.

It names the last block whose events are committed, the hashes of the recent
blocks (for reorg detection after a restart), and the stream version of the
last event written, so a restarted monitor continues the stream where it
stopped: no gap, and no event twice. It also pins the chain (id and genesis
hash) and the factory, so a store is never continued on a different chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from relayer.errors import StoreError

CHECKPOINT_NAME = "ethereum"


class _Wire(msgspec.Struct, frozen=True):
    chain_id: int
    genesis: str
    factory: str
    block: int
    hashes: list[tuple[int, str]]
    version: int


@dataclass(frozen=True, slots=True)
class Cursor:
    chain_id: int
    genesis: str
    """Hash of block 0: a devnet restarted from scratch has another one."""
    factory: str
    block: int
    """The last block whose events are committed (``start_block - 1`` before the first)."""
    hashes: tuple[tuple[int, str], ...]
    """``(number, hash)`` of recent processed blocks, ascending; always holds ``block``
    once one was processed."""
    version: int
    """Version of the last event in the chain stream (0: none yet)."""

    def hash_at(self, number: int) -> str | None:
        for height, block_hash in reversed(self.hashes):
            if height == number:
                return block_hash
            if height < number:
                return None
        return None

    def advanced(self, *, block: int, hashes: dict[int, str], events: int,
                 window: int) -> Cursor:
        """The cursor after committing ``events`` more events up to ``block``; keeps the
        hashes of the last ``window`` blocks below ``block`` plus ``block`` itself."""
        merged = dict(self.hashes)
        merged.update(hashes)
        floor = block - window
        kept = tuple(sorted((n, h) for n, h in merged.items() if floor < n <= block))
        return Cursor(chain_id=self.chain_id, genesis=self.genesis, factory=self.factory,
                      block=block, hashes=kept, version=self.version + events)

    def rewound(self, *, block: int, events: int) -> Cursor:
        """The cursor after a reorg back to ``block`` (reversals written: ``events``)."""
        kept = tuple((n, h) for n, h in self.hashes if n <= block)
        return Cursor(chain_id=self.chain_id, genesis=self.genesis, factory=self.factory,
                      block=block, hashes=kept, version=self.version + events)

    def encode(self) -> bytes:
        return msgspec.json.encode(_Wire(chain_id=self.chain_id, genesis=self.genesis,
                                         factory=self.factory, block=self.block,
                                         hashes=list(self.hashes), version=self.version))

    @classmethod
    def decode(cls, data: bytes) -> Cursor:
        try:
            wire = msgspec.json.decode(data, type=_Wire)
        except msgspec.DecodeError as exc:
            raise StoreError(f"the {CHECKPOINT_NAME} checkpoint is unreadable: {exc}") from exc
        return cls(chain_id=wire.chain_id, genesis=wire.genesis, factory=wire.factory,
                   block=wire.block, hashes=tuple((n, h) for n, h in wire.hashes),
                   version=wire.version)
