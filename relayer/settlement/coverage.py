"""Rule 6, coverage: one destination escrow pays for one source escrow.

A secret opens every escrow locked with its hash. Before it goes out, every
open authentic source escrow of the maker locked with that hash needs a
destination escrow of its own that satisfies rules 2 to 4 for it. Which
destinations qualify for which source is the coordinator's business; this
module only answers whether distinct destinations can be given to all of them
at once, a bipartite matching (augmenting paths; the sets are tiny).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def match(candidates: Sequence[Sequence[K]]) -> list[K | None]:
    """A distinct destination for as many sources as possible: ``candidates[i]`` are the
    destinations that would do for source ``i``; the answer gives each source its
    destination or None. Deterministic: earlier sources and candidates are tried first."""
    owner: dict[K, int] = {}

    def assign(source: int, visited: set[K]) -> bool:
        for target in candidates[source]:
            if target in visited:
                continue
            visited.add(target)
            holder = owner.get(target)
            if holder is None or assign(holder, visited):
                owner[target] = source
                return True
        return False

    for source in range(len(candidates)):
        assign(source, set())
    result: list[K | None] = [None] * len(candidates)
    for target, source in owner.items():
        result[source] = target
    return result
