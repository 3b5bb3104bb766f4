"""The escrow contracts' events and calls, read from the compiled ABIs in ``contracts-abi/evm``.

Topics and selectors are computed from the ABI entries (the signatures equal
ARCHITECTURE section 4; ``tests/contracts/evm/test_build.py`` checks them).
The 1inch fee variant of ``SrcEscrowCreated``, whose two tuples end with a
``bytes parameters`` field, is not emitted by this project's factory, so its
entry is written here.

Every event the monitor reads has only static, unindexed parameters except
the fee variant, so decoding slices 32-byte words directly (about 30 times
faster than ``eth_abi``); the fee variant goes through ``eth_abi``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode

from relayer.errors import ConfigError
from relayer.signing.keccak import keccak256

ARTIFACTS_DIR = Path(__file__).resolve().parents[3] / "contracts-abi" / "evm"

_IMMUTABLES = [{"name": n, "type": t} for n, t in (
    ("orderHash", "bytes32"), ("hashlock", "bytes32"), ("maker", "uint256"),
    ("taker", "uint256"), ("token", "uint256"), ("amount", "uint256"),
    ("safetyDeposit", "uint256"), ("timelocks", "uint256"))]
_COMPLEMENT = [{"name": n, "type": "uint256"}
               for n in ("maker", "amount", "token", "safetyDeposit", "chainId")]
_PARAMETERS = {"name": "parameters", "type": "bytes"}
SRC_CREATED_WITH_PARAMETERS_ABI: dict[str, Any] = {
    "type": "event", "name": "SrcEscrowCreated", "anonymous": False,
    "inputs": [
        {"name": "srcImmutables", "type": "tuple", "indexed": False,
         "components": [*_IMMUTABLES, _PARAMETERS]},
        {"name": "dstImmutablesComplement", "type": "tuple", "indexed": False,
         "components": [*_COMPLEMENT, _PARAMETERS]},
    ],
}
"""The 1inch fee variant (topic ``0x1140dcf8…``)."""
ADDRESS_OF_SRC_WITH_PARAMETERS_ABI: dict[str, Any] = {
    "type": "function", "name": "addressOfEscrowSrc",
    "inputs": [{"name": "immutables", "type": "tuple",
                "components": [*_IMMUTABLES, _PARAMETERS]}],
}
"""How a 1inch factory with fees computes a source escrow's address."""


class EventKind(StrEnum):
    SRC_CREATED = "src_created"
    SRC_CREATED_WITH_PARAMETERS = "src_created_with_parameters"
    DST_CREATED = "dst_created"
    WITHDRAWAL = "withdrawal"
    CANCELLED = "cancelled"
    RESCUED = "rescued"

    @property
    def from_factory(self) -> bool:
        return self in (EventKind.SRC_CREATED, EventKind.SRC_CREATED_WITH_PARAMETERS,
                        EventKind.DST_CREATED)


def canonical_type(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(canonical_type(p) for p in item['inputs'])})"


def selector(item: Mapping[str, Any]) -> bytes:
    return keccak256(signature(item).encode())[:4]


def _flat_types(params: Sequence[Mapping[str, Any]]) -> list[str]:
    flat: list[str] = []
    for p in params:
        if str(p["type"]) == "tuple":
            flat.extend(_flat_types(p["components"]))
        else:
            flat.append(str(p["type"]))
    return flat


@dataclass(frozen=True, slots=True)
class EventAbi:
    kind: EventKind
    signature: str
    topic: str
    """0x-prefixed lowercase hex of keccak256(signature)."""
    types: tuple[str, ...]
    """The top-level parameter types (canonical) for ``eth_abi``."""
    leaf_types: tuple[str, ...]
    """The types of the parameters with tuples inlined."""
    static: bool
    """Every parameter is a one-word type: decode by slicing words."""

    def decode(self, data: bytes) -> tuple[int, ...]:
        """The parameters flattened to integers, tuples inlined in order; ``bytes``
        members of the fee variant are dropped."""
        if self.static:
            size = 32 * len(self.leaf_types)
            if len(data) < size:
                raise ValueError(f"{self.signature}: {len(data)} data bytes, need {size}")
            return tuple(int.from_bytes(data[i:i + 32], "big") for i in range(0, size, 32))
        leaves: list[Any] = []
        for value in abi_decode(list(self.types), data):
            leaves.extend(value if isinstance(value, tuple) else (value,))
        values: list[int] = []
        for kind, leaf in zip(self.leaf_types, leaves, strict=True):
            if kind == "bytes":
                continue  # the fee variant's parameters
            values.append(int.from_bytes(leaf, "big") if isinstance(leaf, bytes) else int(leaf))
        return tuple(values)


def _event(kind: EventKind, item: Mapping[str, Any]) -> EventAbi:
    sig = signature(item)
    flat = _flat_types(item["inputs"])
    static = all(t in ("uint256", "bytes32", "address") for t in flat)
    return EventAbi(kind=kind, signature=sig, topic="0x" + keccak256(sig.encode()).hex(),
                    types=tuple(canonical_type(p) for p in item["inputs"]),
                    leaf_types=tuple(flat), static=static)


@dataclass(frozen=True, slots=True)
class EscrowAbi:
    events: Mapping[str, EventAbi]
    """By topic."""
    create_dst_escrow: bytes
    """Selector of ``createDstEscrow(Immutables, uint256)``."""
    src_implementation: bytes
    dst_implementation: bytes
    address_of_src_with_parameters: bytes
    balance_of: bytes
    allowance: bytes

    @property
    def topics(self) -> list[str]:
        return list(self.events)

    @classmethod
    def load(cls, artifacts: Path = ARTIFACTS_DIR) -> EscrowAbi:
        factory = _abi(artifacts, "EscrowFactory")
        escrow = _abi(artifacts, "EscrowSrc")
        token = _abi(artifacts, "TestToken")
        found = [
            _event(EventKind.SRC_CREATED, _item(factory, "event", "SrcEscrowCreated")),
            _event(EventKind.SRC_CREATED_WITH_PARAMETERS, SRC_CREATED_WITH_PARAMETERS_ABI),
            _event(EventKind.DST_CREATED, _item(factory, "event", "DstEscrowCreated")),
            _event(EventKind.WITHDRAWAL, _item(escrow, "event", "EscrowWithdrawal")),
            _event(EventKind.CANCELLED, _item(escrow, "event", "EscrowCancelled")),
            _event(EventKind.RESCUED, _item(escrow, "event", "FundsRescued")),
        ]
        return cls(
            events={e.topic: e for e in found},
            create_dst_escrow=selector(_item(factory, "function", "createDstEscrow")),
            src_implementation=selector(_item(factory, "function",
                                              "ESCROW_SRC_IMPLEMENTATION")),
            dst_implementation=selector(_item(factory, "function",
                                              "ESCROW_DST_IMPLEMENTATION")),
            address_of_src_with_parameters=selector(ADDRESS_OF_SRC_WITH_PARAMETERS_ABI),
            balance_of=selector(_item(token, "function", "balanceOf")),
            allowance=selector(_item(token, "function", "allowance")),
        )


def _abi(artifacts: Path, name: str) -> list[dict[str, Any]]:
    path = artifacts / f"{name}.json"
    try:
        abi: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["abi"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the compiled ABI {path}: {exc}") from exc
    return abi


def _item(abi: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for item in abi:
        if item.get("type") == kind and item.get("name") == name:
            return item
    raise ConfigError(f"the compiled ABI has no {kind} {name}")
