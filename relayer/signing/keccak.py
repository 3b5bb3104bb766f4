"""keccak-256, the hash of Ethereum and of the hashlocks on both chains."""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak256(*parts: bytes) -> bytes:
    h = _keccak.new(digest_bits=256)
    for part in parts:
        h.update(part)
    return h.digest()
