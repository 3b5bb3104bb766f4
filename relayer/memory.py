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


def freeze_survivors() -> None:
    gc.collect(1)
    gc.freeze()
