"""Escrow addresses: EIP-1167 clones at CREATE2 addresses, as the factory deploys them.

The factory deploys each escrow with salt ``keccak256(abi.encode(immutables))``
(``deployedAt`` included) and the 55-byte EIP-1167 creation code of the source
or destination implementation (``contracts/evm/libraries/ProxyLib.sol``), so
the monitor can compute a source escrow's address from the event alone, the
same value ``addressOfEscrowSrc`` returns, without a call per escrow.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from relayer.signing.keccak import keccak256

_PROXY_PREFIX = bytes.fromhex("3d602d80600a3d3981f3363d3d373d3d3d363d73")
_PROXY_SUFFIX = bytes.fromhex("5af43d82803e903d91602b57fd5bf3")
_DEPLOYED_AT_SHIFT = 224
_LOW_224 = (1 << _DEPLOYED_AT_SHIFT) - 1
_LOW_160 = (1 << 160) - 1


def to_checksum(address: bytes | int) -> str:
    """EIP-55 text of a 20-byte address, or of the low 160 bits of an integer (a packed
    ``Address`` word is read as Solidity's ``address(uint160(word))`` reads it)."""
    raw = (address & _LOW_160).to_bytes(20, "big") if isinstance(address, int) else address
    return _checksum(raw)


@functools.lru_cache(maxsize=65_536)
def _checksum(raw: bytes) -> str:
    # Makers, takers and tokens repeat across escrows: the cache saves their keccak.
    plain = raw.hex()
    digest = keccak256(plain.encode()).hex()
    return "0x" + "".join(c.upper() if d > "7" else c for c, d in zip(plain, digest, strict=False))


def proxy_code_hash(implementation: bytes) -> bytes:
    """keccak256 of the EIP-1167 creation code that delegates to ``implementation``."""
    return keccak256(_PROXY_PREFIX + implementation + _PROXY_SUFFIX)


def immutables_hash(immutables: Sequence[int]) -> bytes:
    """keccak256(abi.encode(Immutables)): eight 32-byte words."""
    return keccak256(b"".join(word.to_bytes(32, "big") for word in immutables))


def create2_address(deployer: bytes, salt: bytes, code_hash: bytes) -> bytes:
    return keccak256(b"\xff" + deployer + salt + code_hash)[12:]


def with_deployed_at(timelocks: int, deployed_at: int) -> int:
    """The timelocks with bits 224..255 set to ``deployed_at`` (``setDeployedAt``)."""
    return (timelocks & _LOW_224) | (deployed_at << _DEPLOYED_AT_SHIFT)


class EscrowAddresses:
    """Computes escrow addresses for one factory and its two implementations."""

    def __init__(self, factory: bytes, src_implementation: bytes,
                 dst_implementation: bytes) -> None:
        self._factory = factory
        self._src_code = proxy_code_hash(src_implementation)
        self._dst_code = proxy_code_hash(dst_implementation)

    def src(self, immutables: Sequence[int]) -> bytes:
        return create2_address(self._factory, immutables_hash(immutables), self._src_code)

    def dst(self, immutables: Sequence[int]) -> bytes:
        return create2_address(self._factory, immutables_hash(immutables), self._dst_code)
