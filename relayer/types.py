"""Distinct names for the hashes and numbers that travel between parts."""

from __future__ import annotations

from typing import NewType

OrderHash = NewType("OrderHash", str)
"""An order hash as ``0x`` followed by 64 lowercase hex digits."""

ChainName = NewType("ChainName", str)
BlockNumber = NewType("BlockNumber", int)
Slot = NewType("Slot", int)
EventPosition = NewType("EventPosition", int)
