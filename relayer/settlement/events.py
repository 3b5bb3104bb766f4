"""Events of the settlement coordinator.

A fill is one source escrow: its id is ``<chain>:<escrow>``. Its status
changes are stored in the stream ``fill:<id>``; a released secret in the
stream ``secret:<order hash>:<index>`` at version 1, so the store itself
guarantees that a secret is released once, across restarts and replicas.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.events.codec import EventCodec


@dataclass(frozen=True, slots=True)
class FillStatusChanged:
    order_hash: str
    fill_id: str
    secret_index: int
    old: str
    new: str
    reasons: tuple[str, ...]
    """Why the secret is withheld (``relayer.settlement.policy.Withheld``), if it is."""
    at: int


@dataclass(frozen=True, slots=True)
class SecretReleased:
    order_hash: str
    fill_id: str
    secret_index: int
    secret_hash: str
    sealed_secret: str
    """The secret sealed to the relayer's custody key (hex): secrets are never stored
    in the clear, even once public."""
    sealed_to: str
    """The custody key id it is sealed to (keys rotate)."""
    source: str
    """``maker`` (posted), ``custody`` (released by the relayer) or ``chain`` (seen in a
    withdrawal)."""
    at: int


@dataclass(frozen=True, slots=True)
class SecretShared:
    """A released secret for subscribers (bus only, never stored: it holds the secret)."""

    order_hash: str
    fill_id: str
    secret_index: int
    secret_hash: str
    secret: str
    at: int


@dataclass(frozen=True, slots=True)
class PublicActionAvailable:
    """A public withdraw or cancel any resolver may now perform (bus only)."""

    order_hash: str
    fill_id: str
    action: str
    """``public_withdraw`` or ``public_cancel``."""
    chain: str
    escrow: str
    at: int


def fill_stream(fill_id: str) -> str:
    return f"fill:{fill_id}"


def secret_stream(order_hash: str, index: int) -> str:
    return f"secret:{order_hash}:{index}"


SETTLEMENT_EVENTS: tuple[type[FillStatusChanged | SecretReleased], ...] = (
    FillStatusChanged, SecretReleased,
)
SETTLEMENT_CODEC = EventCodec(SETTLEMENT_EVENTS)
