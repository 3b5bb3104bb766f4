"""Datums and redeemers of the Cardano escrow and order validators (docs/protocol.md,
"Cardano datums and redeemers"), as typed values with a strict CBOR codec.

Plutus data travels as CBOR: constructor ``i`` is tag ``121 + i`` around its field list,
integers beyond 64 bits are CBOR bignums, byte strings are at most 64 bytes. ``encode``
gives definite-length CBOR; the decoders accept any well-formed encoding of the layout and
raise ``DatumError`` for anything else, since the monitor feeds them whatever it finds on
chain. ``to_plutus_data`` wraps the same data for pycardano's transaction builder.
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

from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.errors import ValidationError
from relayer.orders.timelocks import Stage, Timelocks

HASH_LEN = 32
CREDENTIAL_LEN = 28
POLICY_ID_LEN = 28
MAX_ASSET_NAME_LEN = 32
_U32 = (1 << 32) - 1
_TIMELOCKS_LIMIT = 1 << 224
"""The order datum's packed timelocks carry no ``deployedAt`` (bits 224..255 are zero)."""


class DatumError(ValidationError):
    """Plutus data that is not a well-formed datum or redeemer of our validators."""

    default_code = "INVALID_DATUM"


# ---------------------------------------------------------------------------- shared parts


@dataclass(frozen=True, slots=True)
class Credential:
    """A payment or staking credential: a key hash or a script hash (28 bytes)."""

    hash: bytes
    is_script: bool = False

    def __post_init__(self) -> None:
        _check_bytes("credential", self.hash, CREDENTIAL_LEN)


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
            _check_bytes("asset policy id", self.policy_id, POLICY_ID_LEN)
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
        _check_bytes("output tag tx id", self.tx_id, HASH_LEN)
        _check_natural("output tag index", self.index)


# ---------------------------------------------------------------------------- escrow datums


@dataclass(frozen=True, slots=True)
class SrcEscrowDatum:
    """A source escrow (Cardano is the source chain): constructor 0.

    Times are absolute POSIX milliseconds. ``dst_amount`` is what the resolver promised
    to deliver on the destination chain, checked against the auction curve at creation.
    """

    order_hash: bytes
    hashlock: bytes
    maker: PlutusAddress
    taker: PlutusAddress
    asset: AssetClass
    amount: int
    safety_deposit: int
    withdrawal: int
    public_withdrawal: int
    cancellation: int
    public_cancellation: int
    dst_amount: int

    def __post_init__(self) -> None:
        _check_escrow_common(self)
        for name in ("withdrawal", "public_withdrawal", "cancellation", "public_cancellation",
                     "dst_amount"):
            _check_natural(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class DstEscrowDatum:
    """A destination escrow (Cardano is the destination chain): constructor 1."""

    order_hash: bytes
    hashlock: bytes
    maker: PlutusAddress
    taker: PlutusAddress
    asset: AssetClass
    amount: int
    safety_deposit: int
    withdrawal: int
    public_withdrawal: int
    cancellation: int

    def __post_init__(self) -> None:
        _check_escrow_common(self)
        for name in ("withdrawal", "public_withdrawal", "cancellation"):
            _check_natural(name, getattr(self, name))


EscrowDatum = SrcEscrowDatum | DstEscrowDatum


def _check_escrow_common(datum: EscrowDatum) -> None:
    _check_bytes("order_hash", datum.order_hash, HASH_LEN)
    _check_bytes("hashlock", datum.hashlock, HASH_LEN)
    _check_natural("amount", datum.amount)
    _check_natural("safety_deposit", datum.safety_deposit)


# ---------------------------------------------------------------------------- order datum


@dataclass(frozen=True, slots=True)
class OrderDatum:
    """A Cardano-source order locked at the order script: constructor 0.

    The terms of the signed order the validator enforces, plus ``filled``: the making
    amount filled before (0 when locked, raised by each partial fill's continuing output).
    """

    order_hash: bytes
    maker: PlutusAddress
    maker_asset: AssetClass
    making_amount: int
    taking_amount: int
    auction: AuctionDetails
    hashlock: bytes
    parts: int
    timelocks: Timelocks
    src_safety_deposit: int
    dst_safety_deposit: int
    deadline: int
    filled: int = 0

    def __post_init__(self) -> None:
        _check_bytes("order_hash", self.order_hash, HASH_LEN)
        _check_bytes("hashlock", self.hashlock, HASH_LEN)
        for name in ("making_amount", "taking_amount", "parts", "src_safety_deposit",
                     "dst_safety_deposit", "deadline", "filled"):
            _check_natural(name, getattr(self, name))
        _check_auction(self.auction)
        for offset in self.timelocks.offsets():
            if not isinstance(offset, int) or not 0 <= offset <= _U32:
                raise DatumError("timelock offsets must be integers in [0, 2**32)")

    @property
    def remaining(self) -> int:
        return self.making_amount - self.filled

    def src_escrow(
        self,
        *,
        taker: PlutusAddress,
        amount: int,
        hashlock: bytes,
        dst_amount: int,
        deployed_at_ms: int,
    ) -> SrcEscrowDatum:
        """The source escrow a Fill must create when its validity interval starts at
        ``deployed_at_ms``: each stage begins ``offset`` seconds later."""

        def at(stage: Stage) -> int:
            return deployed_at_ms + self.timelocks.offsets()[stage] * 1000

        return SrcEscrowDatum(
            order_hash=self.order_hash,
            hashlock=hashlock,
            maker=self.maker,
            taker=taker,
            asset=self.maker_asset,
            amount=amount,
            safety_deposit=self.src_safety_deposit,
            withdrawal=at(Stage.SRC_WITHDRAWAL),
            public_withdrawal=at(Stage.SRC_PUBLIC_WITHDRAWAL),
            cancellation=at(Stage.SRC_CANCELLATION),
            public_cancellation=at(Stage.SRC_PUBLIC_CANCELLATION),
            dst_amount=dst_amount,
        )


def _check_auction(auction: AuctionDetails) -> None:
    for name in ("start_time", "duration", "initial_rate_bump", "gas_bump_estimate",
                 "gas_price_estimate"):
        _check_natural(f"auction.{name}", getattr(auction, name))
    for point in auction.points:
        _check_natural("auction point rate bump", point.rate_bump)
        _check_natural("auction point delay", point.delay)


# ---------------------------------------------------------------------------- redeemers


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Escrow redeemer 0: the taker withdraws with the secret."""

    secret: bytes

    def __post_init__(self) -> None:
        _check_bytes("secret", self.secret, HASH_LEN)


@dataclass(frozen=True, slots=True)
class PublicWithdraw:
    """Escrow redeemer 1: anyone withdraws with the secret in the public window."""

    secret: bytes

    def __post_init__(self) -> None:
        _check_bytes("secret", self.secret, HASH_LEN)


@dataclass(frozen=True, slots=True)
class Cancel:
    """Escrow redeemer 2: the taker cancels."""


@dataclass(frozen=True, slots=True)
class PublicCancel:
    """Escrow redeemer 3: anyone cancels a source escrow in the public window."""


EscrowRedeemer = Withdraw | PublicWithdraw | Cancel | PublicCancel


@dataclass(frozen=True, slots=True)
class Reclaim:
    """Order redeemer 0: the maker takes the locked funds back."""


@dataclass(frozen=True, slots=True)
class Fill:
    """Order redeemer 1: a resolver fills into the source escrow at ``escrow_output``.

    ``order_output`` is the continuing order output of a partial fill (ignored when the
    fill completes the order); ``secret_index`` and ``proof`` prove the escrow's hashlock
    against the order's Merkle root (ignored for single-fill orders).
    """

    escrow_output: int
    order_output: int = 0
    secret_index: int = 0
    proof: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _check_natural("escrow_output", self.escrow_output)
        _check_natural("order_output", self.order_output)
        _check_natural("secret_index", self.secret_index)
        for node in self.proof:
            _check_bytes("proof node", node, HASH_LEN)


OrderRedeemer = Reclaim | Fill

Encodable = EscrowDatum | OrderDatum | EscrowRedeemer | OrderRedeemer | OutputTag

# ---------------------------------------------------------------------------- encoding


def _constr(index: int, *fields: Any) -> cbor2.CBORTag:
    return cbor2.CBORTag(121 + index, list(fields))


def _credential(c: Credential) -> cbor2.CBORTag:
    return _constr(1 if c.is_script else 0, c.hash)


def _address(a: PlutusAddress) -> cbor2.CBORTag:
    stake = _constr(1) if a.stake is None else _constr(0, _constr(0, _credential(a.stake)))
    return _constr(0, _credential(a.payment), stake)


def _asset(a: AssetClass) -> cbor2.CBORTag:
    return _constr(0, a.policy_id, a.name)


def _auction(a: AuctionDetails) -> cbor2.CBORTag:
    points = [_constr(0, p.rate_bump, p.delay) for p in a.points]
    return _constr(0, a.start_time, a.duration, a.initial_rate_bump, points,
                   a.gas_bump_estimate, a.gas_price_estimate)


def _escrow_head(d: EscrowDatum) -> list[Any]:
    return [d.order_hash, d.hashlock, _address(d.maker), _address(d.taker), _asset(d.asset),
            d.amount, d.safety_deposit]


def to_primitive(value: Encodable) -> cbor2.CBORTag:
    """The value as cbor2 Plutus data (constructor tags around field lists)."""
    match value:
        case SrcEscrowDatum():
            return _constr(0, *_escrow_head(value), value.withdrawal, value.public_withdrawal,
                           value.cancellation, value.public_cancellation, value.dst_amount)
        case DstEscrowDatum():
            return _constr(1, *_escrow_head(value), value.withdrawal, value.public_withdrawal,
                           value.cancellation)
        case OrderDatum():
            return _constr(0, value.order_hash, _address(value.maker), _asset(value.maker_asset),
                           value.making_amount, value.taking_amount, _auction(value.auction),
                           value.hashlock, value.parts, value.timelocks.pack(),
                           value.src_safety_deposit, value.dst_safety_deposit, value.deadline,
                           value.filled)
        case Withdraw():
            return _constr(0, value.secret)
        case PublicWithdraw():
            return _constr(1, value.secret)
        case Cancel():
            return _constr(2)
        case PublicCancel():
            return _constr(3)
        case Reclaim():
            return _constr(0)
        case Fill():
            return _constr(1, value.escrow_output, value.order_output, value.secret_index,
                           list(value.proof))
        case OutputTag():
            return _constr(0, value.tx_id, value.index)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode(value: Encodable) -> bytes:
    """Definite-length CBOR of the value's Plutus data."""
    return cbor2.dumps(to_primitive(value))


def to_plutus_data(value: Encodable) -> RawPlutusData:
    """For pycardano: an inline datum (``TransactionOutput(datum=...)``) or redeemer data."""
    return RawPlutusData(to_primitive(value))


# ---------------------------------------------------------------------------- decoding


def decode_escrow_datum(data: Any) -> EscrowDatum:
    """An escrow datum from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    index, f = _fields(_load(data), "escrow datum", {0: 12, 1: 10})
    maker, taker, asset = _read_address(f[2]), _read_address(f[3]), _read_asset(f[4])
    if index == 0:
        return SrcEscrowDatum(f[0], f[1], maker, taker, asset, f[5], f[6], f[7], f[8], f[9],
                              f[10], f[11])
    return DstEscrowDatum(f[0], f[1], maker, taker, asset, f[5], f[6], f[7], f[8], f[9])


def decode_order_datum(data: Any) -> OrderDatum:
    """An order datum from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    _, f = _fields(_load(data), "order datum", {0: 13})
    packed = f[8]
    _check_natural("timelocks", packed)
    if packed >= _TIMELOCKS_LIMIT:
        raise DatumError("order datum: timelocks carry a deployedAt")
    return OrderDatum(
        order_hash=f[0], maker=_read_address(f[1]), maker_asset=_read_asset(f[2]),
        making_amount=f[3], taking_amount=f[4], auction=_read_auction(f[5]), hashlock=f[6],
        parts=f[7], timelocks=Timelocks.unpack(packed)[0], src_safety_deposit=f[9],
        dst_safety_deposit=f[10], deadline=f[11], filled=f[12],
    )


def decode_escrow_redeemer(data: Any) -> EscrowRedeemer:
    """An escrow redeemer from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    index, f = _fields(_load(data), "escrow redeemer", {0: 1, 1: 1, 2: 0, 3: 0})
    if index == 0:
        return Withdraw(f[0])
    if index == 1:
        return PublicWithdraw(f[0])
    return Cancel() if index == 2 else PublicCancel()


def decode_order_redeemer(data: Any) -> OrderRedeemer:
    """An order redeemer from CBOR bytes or Plutus data; ``DatumError`` if malformed."""
    index, f = _fields(_load(data), "order redeemer", {0: 0, 1: 4})
    if index == 0:
        return Reclaim()
    return Fill(f[0], f[1], f[2], tuple(_list("proof", f[3])))


def decode_output_tag(data: Any) -> OutputTag:
    _, f = _fields(_load(data), "output tag", {0: 2})
    return OutputTag(f[0], f[1])


def _load(data: Any) -> Any:
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            return cbor2.loads(bytes(data))
        except Exception as exc:  # cbor2 raises several kinds on bad input
            raise DatumError("not valid CBOR") from exc
    if isinstance(data, RawPlutusData):
        return data.data
    to_cbor = getattr(data, "to_cbor", None)
    if callable(to_cbor):
        return _load(to_cbor())
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


def _fields(value: Any, what: str, arity: dict[int, int]) -> tuple[int, list[Any]]:
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
    index, fields = _fields(value, "credential", {0: 1, 1: 1})
    return Credential(fields[0], index == 1)


def _read_address(value: Any) -> PlutusAddress:
    _, (payment, maybe_stake) = _fields(value, "address", {0: 2})
    index, stake = _fields(maybe_stake, "address staking part", {0: 1, 1: 0})
    if index == 1:
        return PlutusAddress(_read_credential(payment))
    kind, inner = _fields(stake[0], "staking credential", {0: 1, 1: 3})
    if kind == 1:
        raise DatumError("pointer addresses are not supported")
    return PlutusAddress(_read_credential(payment), _read_credential(inner[0]))


def _read_asset(value: Any) -> AssetClass:
    _, (policy_id, name) = _fields(value, "asset", {0: 2})
    return AssetClass(policy_id, name)


def _read_auction(value: Any) -> AuctionDetails:
    """Unchecked: ``OrderDatum`` checks every field."""
    _, f = _fields(value, "auction", {0: 6})
    points = tuple(AuctionPoint(*_fields(item, "auction point", {0: 2})[1])
                   for item in _list("auction points", f[3]))
    return AuctionDetails(start_time=f[0], duration=f[1], initial_rate_bump=f[2],
                          points=points, gas_bump_estimate=f[4], gas_price_estimate=f[5])


def _list(what: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise DatumError(f"{what}: expected a list")
    return value


def _check_natural(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DatumError(f"{name} must be a non-negative integer")


def _check_bytes(name: str, value: Any, length: int) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise DatumError(f"{name} must be {length} bytes")
