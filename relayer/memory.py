"""Keeping Python's cyclic GC away from long-lived state.

The order book holds hundreds of thousands of objects that live as long as
their orders. A full collection walks all of them, which measured 80-300 ms
pauses at 10,000 orders (docs/benchmarks.md). Periodically we collect the young
generations (reclaiming fresh cyclic garbage) and freeze whatever survived, so
later full collections only walk what is new. Frozen objects are still freed by
reference counting; only a cycle that becomes garbage after freezing lingers,
which the relayer's long-lived state does not form.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

from relayer.lifecycle import Job


def freeze_survivors() -> None:
    gc.collect(1)
    gc.freeze()


class GcFreeze:
    """Freezes the replayed state once everything has started, then every ``seconds``
    (0: only once)."""

    name = "gc_freeze"

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    async def start(self) -> None:
        freeze_survivors()

    async def stop(self) -> None:
        return None

    def jobs(self) -> Sequence[Job]:
        return [Job("gc_freeze", freeze_survivors, self._seconds)] if self._seconds > 0 else []
