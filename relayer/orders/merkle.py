"""The Merkle tree of secret hashes for orders filled in parts (docs/protocol.md).

Leaf ``i`` is ``keccak256(uint64(i) || secret_hash_i)``; pairs combine with a
commutative keccak (smaller first); an odd last node moves up unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from relayer.signing.keccak import keccak256


def leaf(index: int, secret_hash: bytes) -> bytes:
    return keccak256(index.to_bytes(8, "big"), secret_hash)


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak256(a, b) if a <= b else keccak256(b, a)


def _levels(secret_hashes: Sequence[bytes]) -> list[list[bytes]]:
    if not secret_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    level = [leaf(i, h) for i, h in enumerate(secret_hashes)]
    levels = [level]
    while len(level) > 1:
        level = [
            hash_pair(level[k], level[k + 1]) if k + 1 < len(level) else level[k]
            for k in range(0, len(level), 2)
        ]
        levels.append(level)
    return levels


def merkle_root(secret_hashes: Sequence[bytes]) -> bytes:
    return _levels(secret_hashes)[-1][0]


def merkle_proof(secret_hashes: Sequence[bytes], index: int) -> list[bytes]:
    proof = []
    position = index
    for level in _levels(secret_hashes)[:-1]:
        sibling = position ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        position //= 2
    return proof


def verify_proof(root: bytes, index: int, secret_hash: bytes, proof: Sequence[bytes]) -> bool:
    node = leaf(index, secret_hash)
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


def secret_index(filled_before: int, fill_amount: int, total: int, parts: int) -> int:
    """Which secret a fill of ``fill_amount`` uses after ``filled_before`` were filled."""
    if not 0 < fill_amount <= total - filled_before:
        raise ValueError("fill_amount must be positive and at most what remains")
    if filled_before + fill_amount == total:
        return parts
    return (filled_before + fill_amount - 1) * parts // total
