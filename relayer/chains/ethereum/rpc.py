"""What the Ethereum side of the relayer asks of a node: the ``EthereumRpc`` protocol.

The monitor and the maker-funds checks use only these calls, so a test can put
a fake behind them and production puts ``FailoverRpc`` (several URLs) there.
Answers are kept close to the wire (hex strings in dicts for logs) because the
monitor decodes them itself, quickly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from relayer.errors import ChainError

RawLog = Mapping[str, Any]
"""A log as ``eth_getLogs`` returns it: ``address``, ``topics``, ``data``, ``blockNumber``,
``blockHash``, ``transactionHash``, ``logIndex`` (hex strings), maybe ``blockTimestamp``."""


class ChainUnavailable(ChainError):
    """No RPC endpoint answered (connection refused, timeout, HTTP error)."""

    default_code = "CHAIN_UNAVAILABLE"


class RpcError(ChainError):
    """A node answered with a JSON-RPC error (a refused query, a reverted call)."""

    default_code = "CHAIN_RPC_ERROR"

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        message = str(error.get("message", error))
        super().__init__(f"{method}: {message}",
                         details={"method": method, "rpc_code": error.get("code")})
        self.method = method
        self.rpc_code = error.get("code")
        self.rpc_message = message


@dataclass(frozen=True, slots=True)
class Transaction:
    hash: str
    to: str | None
    """Lowercase 0x hex; ``None`` for a contract creation."""
    input: bytes

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Transaction:
        return cls(hash=str(raw["hash"]).lower(),
                   to=str(raw["to"]).lower() if raw.get("to") else None,
                   input=bytes.fromhex(str(raw.get("input") or "0x")[2:]))


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    """Lowercase 0x hex."""
    parent_hash: str
    timestamp: int
    base_fee: int
    """0 before London (no ``baseFeePerGas``)."""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> BlockHeader:
        return cls(number=int(raw["number"], 16), hash=str(raw["hash"]).lower(),
                   parent_hash=str(raw["parentHash"]).lower(),
                   timestamp=int(raw["timestamp"], 16),
                   base_fee=int(raw.get("baseFeePerGas") or "0x0", 16))


@dataclass(frozen=True, slots=True)
class RpcHealth:
    connected: bool
    """The last call reached a node."""
    errors: int
    """Failed calls (per endpoint tried) since start."""
    endpoint: str
    """The endpoint in use, without credentials: ``scheme://host:port``."""
    detail: str = ""


class EthereumRpc(Protocol):
    async def chain_id(self) -> int: ...

    async def block(self, number: int | str) -> BlockHeader | None:
        """One block's header by number or tag (``latest``); ``None`` if there is none."""

    async def blocks(self, numbers: Sequence[int]) -> list[BlockHeader | None]:
        """Several headers in one round trip (or a few), in the order asked."""

    async def transactions(self, hashes: Sequence[str]) -> list[Transaction | None]:
        """Transactions by hash, batched, in the order asked."""

    async def logs(self, *, from_block: int, to_block: int,
                   topics: Sequence[Sequence[str]], address: Sequence[str] | None = None
                   ) -> list[RawLog]:
        """``eth_getLogs`` over ``[from_block, to_block]``; raises ``RpcError`` if refused."""

    async def call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        """``eth_call``; raises ``RpcError`` on a revert."""

    def health(self) -> RpcHealth: ...

    async def close(self) -> None: ...
