"""The parts every datum and redeemer of our validators shares (docs/protocol.md,
"Cardano datums and redeemers"): credentials, addresses, asset classes and output
tags, and the strict reading and writing of Plutus data they are built from.

Plutus data travels as CBOR: constructor ``i`` is tag ``121 + i`` around its field list,
integers beyond 64 bits are CBOR bignums, byte strings are at most 64 bytes. The readers
accept any well-formed encoding of the layout and raise ``DatumError`` for anything
else, since the monitor feeds them whatever it finds on chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2
from pycardano import (
    Address,
    Network,
    RawPlutusData,
    ScriptHash,
    VerificationKeyHash,
)

from relayer.errors import ValidationError

HASH_LEN = 32
CREDENTIAL_LEN = 28
POLICY_ID_LEN = 28
MAX_ASSET_NAME_LEN = 32


class DatumError(ValidationError):
    """Plutus data that is not a well-formed datum or redeemer of our validators."""

    default_code = "INVALID_DATUM"


@dataclass(frozen=True, slots=True)
class Credential:
    """A payment or staking credential: a key hash or a script hash (28 bytes)."""

    hash: bytes
    is_script: bool = False

    def __post_init__(self) -> None:
        check_bytes("credential", self.hash, CREDENTIAL_LEN)


@dataclass(frozen=True, slots=True)
class PlutusAddress:
    """A Shelley address as Plutus sees it: no network id; pointer addresses are refused."""

    payment: Credential
    stake: Credential | None = None

    @classmethod
    def from_address(cls, address: Address) -> PlutusAddress:
        payment, stake = address.payment_part, address.staking_part
        if payment is None:
            raise DatumError("a Plutus address needs a payment credential")
        if stake is not None and not isinstance(stake, VerificationKeyHash | ScriptHash):
            raise DatumError("pointer addresses are not supported")
        return cls(
            Credential(bytes(payment.payload), isinstance(payment, ScriptHash)),
            None if stake is None else Credential(bytes(stake.payload),
                                                  isinstance(stake, ScriptHash)),
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> PlutusAddress:
        """From the raw Shelley address bytes (header byte + credentials)."""
        try:
            address = Address.from_primitive(raw)
        except Exception as exc:  # pycardano raises several kinds for bad bytes
            raise DatumError("not a Shelley address") from exc
        return cls.from_address(address)

    def to_address(self, network: Network) -> Address:
        def part(c: Credential) -> VerificationKeyHash | ScriptHash:
            return ScriptHash(c.hash) if c.is_script else VerificationKeyHash(c.hash)

        return Address(part(self.payment),
                       None if self.stake is None else part(self.stake), network=network)

    @property
    def key_hash(self) -> bytes | None:
        """The payment key hash, or None when a script guards the payment part."""
        return None if self.payment.is_script else self.payment.hash


@dataclass(frozen=True, slots=True)
class AssetClass:
    """A policy id and asset name; both empty for lovelace."""

    policy_id: bytes = b""
    name: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.name, bytes) or len(self.name) > MAX_ASSET_NAME_LEN:
            raise DatumError(f"asset name must be at most {MAX_ASSET_NAME_LEN} bytes")
        if self.policy_id != b"":
            check_bytes("asset policy id", self.policy_id, POLICY_ID_LEN)
        elif self.name:
            raise DatumError("lovelace has no asset name")

    @property
    def is_lovelace(self) -> bool:
        return not self.policy_id

    @property
    def raw(self) -> bytes:
        """The byte encoding of docs/protocol.md: empty, or policy id || asset name."""
        return self.policy_id + self.name

    @classmethod
    def from_raw(cls, raw: bytes) -> AssetClass:
        return cls(raw[:POLICY_ID_LEN], raw[POLICY_ID_LEN:])


LOVELACE = AssetClass()


@dataclass(frozen=True, slots=True)
class OutputTag:
    """The inline datum a validator demands on each payment it requires: the output
    reference of the script input demanding it (no output can pay for two inputs)."""

    tx_id: bytes
    index: int

    def __post_init__(self) -> None:
        check_bytes("output tag tx id", self.tx_id, HASH_LEN)
        check_natural("output tag index", self.index)


def output_tag_to_primitive(tag: OutputTag) -> cbor2.CBORTag:
    return constr(0, tag.tx_id, tag.index)


def decode_output_tag(data: Any) -> OutputTag:
    _, f = read_fields(load_data(data), "output tag", {0: 2})
    return OutputTag(f[0], f[1])


# ---------------------------------------------------------------------------- writing


def constr(index: int, *fields: Any) -> cbor2.CBORTag:
    return cbor2.CBORTag(121 + index, list(fields))


def _credential(c: Credential) -> cbor2.CBORTag:
    return constr(1 if c.is_script else 0, c.hash)


def address_to_primitive(a: PlutusAddress) -> cbor2.CBORTag:
    stake = constr(1) if a.stake is None else constr(0, constr(0, _credential(a.stake)))
    return constr(0, _credential(a.payment), stake)


def asset_to_primitive(a: AssetClass) -> cbor2.CBORTag:
    return constr(0, a.policy_id, a.name)


# ---------------------------------------------------------------------------- reading


def load_data(data: Any) -> Any:
    """Plutus data from CBOR bytes, pycardano's raw data, or cbor2 values as they are."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            return cbor2.loads(bytes(data))
        except Exception as exc:  # cbor2 raises several kinds on bad input
            raise DatumError("not valid CBOR") from exc
    if isinstance(data, RawPlutusData):
        return data.data
    to_cbor = getattr(data, "to_cbor", None)
    if callable(to_cbor):
        return load_data(to_cbor())
    return data


def _constructor(value: Any, what: str) -> tuple[int, list[Any]]:
    if not isinstance(value, cbor2.CBORTag):
        raise DatumError(f"{what}: expected a constructor, got {type(value).__name__}")
    tag, fields = value.tag, value.value
    if 121 <= tag <= 127:
        index = tag - 121
    elif 1280 <= tag <= 1400:
        index = tag - 1280 + 7
    elif tag == 102 and isinstance(fields, list) and len(fields) == 2:
        index, fields = fields
        if not isinstance(index, int) or isinstance(index, bool):
            raise DatumError(f"{what}: malformed general constructor")
    else:
        raise DatumError(f"{what}: tag {tag} is not a Plutus constructor")
    if not isinstance(fields, list):
        raise DatumError(f"{what}: constructor fields must be a list")
    return index, fields


def read_fields(value: Any, what: str, arity: dict[int, int]) -> tuple[int, list[Any]]:
    """Constructor index and fields, checked against ``arity`` (index -> field count)."""
    index, fields = _constructor(value, what)
    if index not in arity:
        raise DatumError(f"{what}: unknown constructor {index}")
    if len(fields) != arity[index]:
        raise DatumError(
            f"{what}: constructor {index} needs {arity[index]} fields, got {len(fields)}"
        )
    return index, fields


def _read_credential(value: Any) -> Credential:
    index, fields = read_fields(value, "credential", {0: 1, 1: 1})
    return Credential(fields[0], index == 1)


def read_address(value: Any) -> PlutusAddress:
    _, (payment, maybe_stake) = read_fields(value, "address", {0: 2})
    index, stake = read_fields(maybe_stake, "address staking part", {0: 1, 1: 0})
    if index == 1:
        return PlutusAddress(_read_credential(payment))
    kind, inner = read_fields(stake[0], "staking credential", {0: 1, 1: 3})
    if kind == 1:
        raise DatumError("pointer addresses are not supported")
    return PlutusAddress(_read_credential(payment), _read_credential(inner[0]))


def read_asset(value: Any) -> AssetClass:
    _, (policy_id, name) = read_fields(value, "asset", {0: 2})
    return AssetClass(policy_id, name)


def read_list(what: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise DatumError(f"{what}: expected a list")
    return value


def check_natural(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DatumError(f"{name} must be a non-negative integer")


def check_bytes(name: str, value: Any, length: int) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise DatumError(f"{name} must be {length} bytes")
