"""The retry schedule: exponential backoff with jitter, pure and seedable."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    initial_seconds: float
    max_seconds: float
    jitter: float
    """Fraction in [0, 1]: a delay is drawn from [(1 - jitter) * d, d]."""

    def nominal(self, attempt: int) -> float:
        """The delay after failed attempt number ``attempt`` (1-based), before jitter."""
        return min(self.initial_seconds * 2.0 ** (attempt - 1), self.max_seconds)

    def delay(self, attempt: int, rng: random.Random) -> float:
        nominal = self.nominal(attempt)
        return nominal * (1.0 - self.jitter * rng.random())

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
