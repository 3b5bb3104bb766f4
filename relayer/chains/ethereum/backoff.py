"""Exponential backoff with jitter, for retrying a chain that does not answer."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Pauses that double per failure up to ``maximum``, each drawn from
    ``[ceiling / 2, ceiling]`` so that many clients do not retry in step."""

    initial: float
    maximum: float
    multiplier: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        """Count one more failure; the pause before the next attempt."""
        self.failures += 1
        return self.delay(self.failures)

    def delay(self, failures: int) -> float:
        ceiling = min(self.maximum, self.initial * self.multiplier ** max(failures - 1, 0))
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
