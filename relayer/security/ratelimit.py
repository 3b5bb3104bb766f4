"""Token buckets per client: a steady rate with room for a burst, refilled lazily."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from relayer.clock import Clock
from relayer.security.errors import RateLimited


class FailureLimit(Protocol):
    """Where failed authentications are counted per client address."""

    def failure(self, host: str) -> float:
        """Spend for one failure from ``host``; the seconds to wait (0: not limited)."""
        ...


def rate_limited(kind: str, wait: float) -> RateLimited:
    """The 429 for a bucket that is ``wait`` seconds from its next token; ``kind`` is the
    limit: ``key``, ``ip`` or ``auth`` (an address that failed to authenticate too often)."""
    retry_after = max(1, math.ceil(wait))
    who = {"key": "API key", "auth": "address after failed authentications"}.get(
        kind, "address")
    return RateLimited(f"too many requests for this {who}; retry after {retry_after} s",
                       retry_after=retry_after, limit=kind)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One bucket per key (an API key id or a client address), each holding up to ``burst``
    requests and refilled at ``rate`` a second. Idle, full buckets are forgotten once more
    than ``max_keys`` exist, so memory stays bounded however many clients come by."""

    def __init__(self, *, rate: float, burst: int, clock: Clock,
                 max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Spend one token: 0 if allowed, else the seconds until a token is available."""
        now = self._clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        else:
            # A wall clock may step back: never refill from a negative interval.
            elapsed = max(now - bucket.updated, 0.0)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        idle = [k for k, b in self._buckets.items() if now - b.updated >= full_after]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            # Everyone is active: drop the half least recently seen (they restart full).
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]
