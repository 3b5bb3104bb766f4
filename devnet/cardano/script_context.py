"""The Plutus V3 ScriptContext of a transaction, as Plutus data for `uplc`.

Follows the ledger's V3 translation: TxInfo with sorted inputs and reference inputs, the
outputs, fee, mint, validity range in POSIX milliseconds (lower bound closed, upper bound
open), signatories, redeemers keyed by script purpose, witness datums and the tx id; the
ScriptInfo of a spend carries the spent output's datum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cbor2
from uplc.ast import (
    PlutusByteString,
    PlutusConstr,
    PlutusData,
    PlutusInteger,
    PlutusList,
    PlutusMap,
)

from devnet.cardano.model import Assets, DecodedTx, Output, Redeemer, TxIn

SPEND, MINT = 0, 1


def _constr(tag: int, *fields: PlutusData) -> PlutusConstr:
    return PlutusConstr(tag, list(fields))


def _bytes(value: bytes) -> PlutusByteString:
    return PlutusByteString(value)


def _int(value: int) -> PlutusInteger:
    return PlutusInteger(value)


def to_data(value: Any) -> PlutusData:
    """cbor2-decoded Plutus data (tags 121.., 1280.., 102; ints; bytes; lists; maps)."""
    if isinstance(value, cbor2.CBORTag):
        tag = value.tag
        if 121 <= tag <= 127:
            return PlutusConstr(tag - 121, [to_data(f) for f in value.value])
        if 1280 <= tag <= 1400:
            return PlutusConstr(tag - 1280 + 7, [to_data(f) for f in value.value])
        if tag == 102:
            constructor, fields = value.value
            return PlutusConstr(int(constructor), [to_data(f) for f in fields])
        raise ValueError(f"invalid Plutus data tag {tag}")
    if isinstance(value, bool):
        raise ValueError("booleans are not Plutus data")
    if isinstance(value, int):
        return PlutusInteger(value)
    if isinstance(value, bytes | bytearray):
        return PlutusByteString(bytes(value))
    if isinstance(value, list | tuple):
        return PlutusList([to_data(v) for v in value])
    if isinstance(value, dict):
        return PlutusMap({to_data(k): to_data(v) for k, v in value.items()})
    raise ValueError(f"not Plutus data: {type(value).__name__}")


def data_from_cbor(raw: bytes) -> PlutusData:
    return to_data(cbor2.loads(raw))


NOTHING = _constr(1)
TRUE = _constr(1)
FALSE = _constr(0)


def _just(value: PlutusData) -> PlutusConstr:
    return _constr(0, value)


def out_ref(ref: TxIn) -> PlutusConstr:
    return _constr(0, _bytes(ref[0]), _int(ref[1]))


def _credential(header_is_script: bool, key_hash: bytes) -> PlutusConstr:
    return _constr(1 if header_is_script else 0, _bytes(key_hash))


def address_data(raw: bytes) -> PlutusConstr:
    header = raw[0] >> 4
    payment = _credential(bool(header & 1), raw[1:29])
    if header in (0, 1, 2, 3):
        staking = _just(_constr(0, _credential(bool(header & 2), raw[29:57])))
    elif header in (4, 5):
        slot, tx_index, cert_index, _ = _pointer(raw, 29)
        staking = _just(_constr(1, _int(slot), _int(tx_index), _int(cert_index)))
    else:
        staking = NOTHING
    return _constr(0, payment, staking)


def _pointer(raw: bytes, pos: int) -> tuple[int, int, int, int]:
    values = []
    for _ in range(3):
        value = 0
        while True:
            byte = raw[pos]
            pos += 1
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values[0], values[1], values[2], pos


def value_data(lovelace: int | None, assets: Assets) -> PlutusMap:
    entries: dict[PlutusData, PlutusData] = {}
    if lovelace is not None:
        entries[_bytes(b"")] = PlutusMap({_bytes(b""): _int(lovelace)})
    for policy in sorted(assets):
        names = assets[policy]
        entries[_bytes(policy)] = PlutusMap(
            {_bytes(name): _int(names[name]) for name in sorted(names)}
        )
    return PlutusMap(entries)


def output_data(output: Output) -> PlutusConstr:
    if output.datum is not None:
        datum: PlutusData = _constr(2, data_from_cbor(output.datum))
    elif output.datum_hash is not None:
        datum = _constr(1, _bytes(output.datum_hash))
    else:
        datum = _constr(0)
    script = _just(_bytes(output.script.hash)) if output.script else NOTHING
    return _constr(
        0,
        address_data(output.address),
        value_data(output.lovelace, output.assets),
        datum,
        script,
    )


def _interval_bound(limit: int | None, closed: bool, infinite: PlutusConstr) -> PlutusConstr:
    if limit is None:
        return _constr(0, infinite, TRUE)
    return _constr(0, _constr(1, _int(limit)), TRUE if closed else FALSE)


def purpose_data(redeemer: Redeemer, tx: DecodedTx) -> PlutusConstr:
    if redeemer.tag == SPEND:
        return _constr(1, out_ref(tx.inputs[redeemer.index]))
    if redeemer.tag == MINT:
        return _constr(0, _bytes(sorted(tx.mint)[redeemer.index]))
    raise ValueError(f"unsupported redeemer purpose {redeemer.purpose}")


class ContextBuilder:
    """Builds the shared TxInfo once per transaction, then one ScriptContext per redeemer."""

    def __init__(
        self,
        tx: DecodedTx,
        resolved: Mapping[TxIn, Output],
        slot_to_posix_ms: Callable[[int], int],
    ) -> None:
        self._tx = tx
        self._resolved = resolved
        self._tx_info = self._build_tx_info(slot_to_posix_ms)

    def _build_tx_info(self, slot_to_posix_ms: Callable[[int], int]) -> PlutusConstr:
        tx = self._tx
        lower = None if tx.validity_start is None else slot_to_posix_ms(tx.validity_start)
        upper = None if tx.ttl is None else slot_to_posix_ms(tx.ttl)
        validity = _constr(
            0,
            _interval_bound(lower, True, _constr(0)),
            _interval_bound(upper, False, _constr(2)),
        )
        redeemers = {
            purpose_data(r, tx): to_data(r.data)
            for r in sorted(self._tx.redeemers, key=lambda r: (r.tag, r.index))
        }
        datums = {_bytes(h): data_from_cbor(tx.datums[h]) for h in sorted(tx.datums)}
        return _constr(
            0,
            PlutusList([self._in_info(ref) for ref in tx.inputs]),
            PlutusList([self._in_info(ref) for ref in tx.reference_inputs]),
            PlutusList([output_data(o) for o in tx.outputs]),
            _int(tx.fee),
            value_data(None, tx.mint),
            PlutusList([]),
            PlutusMap({}),
            validity,
            PlutusList([_bytes(k) for k in sorted(tx.required_signers)]),
            PlutusMap(redeemers),
            PlutusMap(datums),
            _bytes(tx.id),
            PlutusMap({}),
            PlutusList([]),
            NOTHING,
            NOTHING,
        )

    def _in_info(self, ref: TxIn) -> PlutusConstr:
        return _constr(0, out_ref(ref), output_data(self._resolved[ref]))

    def context(self, redeemer: Redeemer, datum: bytes | None) -> PlutusConstr:
        """The ScriptContext for one redeemer; `datum` is the spent output's datum, if any."""
        if redeemer.tag == SPEND:
            spent = self._tx.inputs[redeemer.index]
            maybe_datum = _just(data_from_cbor(datum)) if datum is not None else NOTHING
            info: PlutusConstr = _constr(1, out_ref(spent), maybe_datum)
        else:
            info = purpose_data(redeemer, self._tx)
        redeemer_data: Any = to_data(redeemer.data)
        return _constr(0, self._tx_info, redeemer_data, info)
