"""What every chain monitor tells the rest of the relayer about itself.

Health, metrics and the settlement coordinator read a monitor only through
``ChainMonitor``: they never reach into its internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChainStatus:
    chain: str
    """The chain's name in the registry: ``ethereum`` or ``cardano``."""
    connected: bool
    """The last call to the chain's RPC (or Ogmios) succeeded."""
    head: int | None
    """The chain's tip as last seen: a block number (Ethereum) or a slot (Cardano)."""
    processed: int | None
    """The newest block number or slot whose events are committed to the store."""
    max_lag: int
    """How far ``processed`` may trail ``head`` before the monitor counts as behind."""
    reorgs: int = 0
    """Reorgs (Ethereum) or rollbacks (Cardano) seen since start."""
    rpc_errors: int = 0
    """Failed RPC calls since start."""
    detail: str = ""
    """Why the monitor is degraded, if it is; empty when healthy."""
    head_height: int | None = None
    """The tip's block height when ``head`` counts slots (Cardano); confirmations are
    counted in blocks. ``None``: ``head`` is already a block number."""
    processed_height: int | None = None
    """The block height of ``processed`` when ``processed`` counts slots (Cardano).
    ``None``: ``processed`` is already a block number."""

    @property
    def lag(self) -> int | None:
        if self.head is None or self.processed is None:
            return None
        return max(self.head - self.processed, 0)

    @property
    def tip_height(self) -> int | None:
        """The tip's block number or height, for counting confirmations."""
        return self.head_height if self.head_height is not None else self.head

    @property
    def confirmed_height(self) -> int | None:
        """The height to count confirmations from: the newest block the monitor has
        processed and checked against its parent, never the raw tip. While a reorg is
        being handled the node's tip is already on the new branch but the orphaned
        blocks' events are still indexed; counting those against the new tip would
        call an escrow that is leaving the chain final."""
        processed = (self.processed_height if self.processed_height is not None
                     else self.processed)
        tip = self.tip_height
        if processed is None or tip is None:
            return None
        return min(processed, tip)

    @property
    def healthy(self) -> bool:
        lag = self.lag
        return self.connected and lag is not None and lag <= self.max_lag


class ChainMonitor(Protocol):
    """A background follower of one chain, started and stopped by the app's lifespan."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None:
        """Resume from the persisted cursor and begin following; return once running."""

    async def stop(self) -> None:
        """Stop following; return once no more work will be committed."""

    def status(self) -> ChainStatus: ...
