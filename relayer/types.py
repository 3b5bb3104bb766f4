"""Distinct names for the hashes and numbers that travel between parts."""

from __future__ import annotations

from typing import NewType

OrderHash = NewType("OrderHash", str)
"""An order hash as ``0x`` followed by 64 lowercase hex digits."""

ChainName = NewType("ChainName", str)
BlockNumber = NewType("BlockNumber", int)
Slot = NewType("Slot", int)
EventPosition = NewType("EventPosition", int)


def canonical_order_hash(text: str) -> OrderHash:
    """The one spelling of an order hash, given where a hash enters (a path, a WebSocket
    channel or request); inside, hashes are compared as they are. The chains' decoders
    write hashes from bytes, already in this spelling."""
    return OrderHash(text.lower())
