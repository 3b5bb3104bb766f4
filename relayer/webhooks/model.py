"""Webhook endpoints and deliveries as the dispatcher and the API see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from relayer.errors import TransitionError


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Not yet delivered; an attempt is due at ``next_attempt_at``."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Every attempt failed; no more will be made."""


TERMINAL: frozenset[DeliveryStatus] = frozenset({DeliveryStatus.DELIVERED,
                                                 DeliveryStatus.FAILED})
TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset(DeliveryStatus),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}


def check_transition(current: DeliveryStatus, target: DeliveryStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionError(f"delivery cannot move from {current} to {target}",
                              details={"from": str(current), "to": str(target)})


@dataclass(frozen=True, slots=True)
class Filters:
    events: frozenset[str]
    chains: frozenset[str]
    """Empty: any chain. Otherwise the order's source or destination must be one."""
    makers: frozenset[str]
    """Empty: any maker. Canonical address text."""

    def matches(self, event: str, chains: tuple[str, str] | None, maker: str | None) -> bool:
        if event not in self.events:
            return False
        if self.chains and (chains is None or not self.chains.intersection(chains)):
            return False
        return not self.makers or maker in self.makers


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: str
    owner: str
    url: str
    filters: Filters
    description: str
    created_at: int
    secret: bytes
    """The HMAC key, in memory only (stored sealed)."""
    since: int = 0
    """Log position of the registration: only events committed after it are delivered."""

    def __repr__(self) -> str:
        return f"Webhook({self.webhook_id!r}, owner={self.owner!r}, url={self.url!r})"


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    at: float
    duration_ms: int
    status_code: int | None
    error: str


@dataclass(slots=True)
class Delivery:
    webhook_id: str
    delivery_id: str
    event: str
    order_hash: str
    body: bytes
    created_at: float
    seq: int = 0
    """Order of creation within its endpoint (pages of the deliveries list)."""
    status: DeliveryStatus = DeliveryStatus.PENDING
    next_attempt_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    def record(self, attempt: Attempt, status: DeliveryStatus,
               next_attempt_at: float | None) -> None:
        check_transition(self.status, status)
        self.attempts.append(attempt)
        self.status = status
        self.next_attempt_at = next_attempt_at if status is DeliveryStatus.PENDING else None
