"""Ledger data: output references, outputs, values, scripts, redeemers, decoded transactions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pycardano import Address

# An output reference: (transaction id, output index).
TxIn = tuple[bytes, int]
# Native assets: policy id -> asset name -> quantity.
Assets = dict[bytes, dict[bytes, int]]

SCRIPT_LANGUAGES = {0: "native", 1: "plutus:v1", 2: "plutus:v2", 3: "plutus:v3"}


def blake2b_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2b_224(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=28).digest()


@dataclass(frozen=True, slots=True)
class Script:
    """A script as the ledger sees it: a language tag (0 native, 1-3 Plutus) and its bytes."""

    language: int
    body: bytes

    @property
    def hash(self) -> bytes:
        return blake2b_224(bytes([self.language]) + self.body)


@dataclass(frozen=True)
class Output:
    """A transaction output; `raw` is its CBOR as submitted (the min-UTxO rule measures it)."""

    address: bytes
    lovelace: int
    assets: Assets = field(default_factory=dict)
    datum_hash: bytes | None = None
    datum: bytes | None = None
    script: Script | None = None
    raw: bytes = b""

    @cached_property
    def bech32(self) -> str:
        return str(Address.from_primitive(self.address).encode())

    @property
    def payment_header(self) -> int:
        return self.address[0] >> 4

    @property
    def payment_credential(self) -> tuple[bool, bytes] | None:
        """(is_script, hash) of the payment part; None for Byron addresses."""
        header = self.payment_header
        if header > 7:
            return None
        return bool(header & 1), self.address[1:29]

    @property
    def effective_datum_hash(self) -> bytes | None:
        if self.datum is not None:
            return blake2b_256(self.datum)
        return self.datum_hash


@dataclass(frozen=True, slots=True)
class Redeemer:
    tag: int
    index: int
    data: Any  # cbor2-decoded Plutus data
    memory: int
    cpu: int

    @property
    def purpose(self) -> str:
        return REDEEMER_PURPOSES[self.tag]


REDEEMER_PURPOSES = {0: "spend", 1: "mint", 2: "publish", 3: "withdraw", 4: "vote", 5: "propose"}


@dataclass(frozen=True)
class DecodedTx:
    """A submitted transaction decoded from its CBOR, keeping the bytes the ledger hashes."""

    cbor: bytes
    id: bytes
    is_valid: bool
    inputs: list[TxIn]
    outputs: list[Output]
    fee: int
    ttl: int | None
    validity_start: int | None
    mint: Assets
    script_data_hash: bytes | None
    collateral: list[TxIn]
    collateral_return: Output | None
    total_collateral: int | None
    required_signers: list[bytes]
    reference_inputs: list[TxIn]
    network_id: int | None
    vkey_witnesses: list[tuple[bytes, bytes]]
    scripts: dict[bytes, Script]
    datums: dict[bytes, bytes]
    redeemers: list[Redeemer]
    redeemers_raw: bytes | None
    datums_raw: bytes | None
    metadata_raw: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.cbor)

    @property
    def id_hex(self) -> str:
        return self.id.hex()


def value_add(total: dict[bytes, dict[bytes, int]], assets: Assets, sign: int = 1) -> None:
    for policy, names in assets.items():
        bucket = total.setdefault(policy, {})
        for name, quantity in names.items():
            bucket[name] = bucket.get(name, 0) + sign * quantity


def value_normalise(assets: Assets) -> Assets:
    """Drop zero quantities and empty policies."""
    result: Assets = {}
    for policy, names in assets.items():
        kept = {name: q for name, q in names.items() if q != 0}
        if kept:
            result[policy] = kept
    return result
