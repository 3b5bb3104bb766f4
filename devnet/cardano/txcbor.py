"""Decoding of submitted transactions, keeping the original bytes the ledger hashes.

The ledger hashes the bytes it received (body, datums, redeemers), never a re-encoding, so
next to pycardano's decoded objects we keep the raw spans of those parts.
"""

from __future__ import annotations

from typing import Any

import cbor2
from cbor2 import CBORTag

from devnet.cardano.errors import DESERIALISATION_FAILURE, SubmissionError
from devnet.cardano.model import (
    Assets,
    DecodedTx,
    Output,
    Redeemer,
    Script,
    TxIn,
    blake2b_256,
)


def decode_transaction(cbor: bytes) -> DecodedTx:
    try:
        return _decode(cbor)
    except SubmissionError:
        raise
    except Exception as exc:  # any malformed input is a client error, not a crash
        raise SubmissionError(
            DESERIALISATION_FAILURE,
            f"Invalid transaction: unable to deserialise the transaction ({exc}).",
        ) from exc


def decode_output(raw: bytes) -> Output:
    """Decode one output from its CBOR (legacy array or post-Alonzo map form)."""
    value = cbor2.loads(raw)
    datum_hash: bytes | None = None
    datum: bytes | None = None
    script: Script | None = None
    if isinstance(value, dict):
        address, amount = value[0], value[1]
        option = value.get(2)
        if option is not None:
            if option[0] == 0:
                datum_hash = bytes(option[1])
            else:
                datum = bytes(option[1].value)
        ref = value.get(3)
        if ref is not None:
            language, body = cbor2.loads(ref.value)
            if language == 0:
                script = Script(0, cbor2.dumps(body))
            else:
                script = Script(int(language), _script_bytes(body))
    else:
        address, amount = value[0], value[1]
        if len(value) > 2:
            datum_hash = bytes(value[2])
    lovelace, assets = _amount(amount)
    return Output(
        address=bytes(address),
        lovelace=lovelace,
        assets=assets,
        datum_hash=datum_hash,
        datum=datum,
        script=script,
        raw=raw,
    )


_UNSUPPORTED_BODY_KEYS = {4: "certificates", 5: "withdrawals", 19: "votes", 20: "proposals"}


def _decode(cbor: bytes) -> DecodedTx:
    major, count, pos = _head(cbor, 0)
    if major != 4 or count not in (3, 4):
        raise ValueError("a transaction is an array of 3 or 4 items")
    body_start = pos
    body_end = _skip(cbor, pos)
    witness_end = _skip(cbor, body_end)
    is_valid = True
    metadata_raw: bytes | None = None
    after = witness_end
    if count == 4:
        is_valid = cbor[after] != 0xF4
        after = _skip(cbor, after)
    if cbor[after] != 0xF6:
        metadata_raw = cbor[after : _skip(cbor, after)]
    body_bytes = cbor[body_start:body_end]
    body = cbor2.loads(body_bytes)
    for key, name in _UNSUPPORTED_BODY_KEYS.items():
        if body.get(key):
            raise SubmissionError(
                DESERIALISATION_FAILURE, f"The simulator does not support {name} yet."
            )
    output_spans = _array_item_spans(cbor, _map_spans(cbor, body_start)[1][0])
    outputs = [decode_output(cbor[s:e]) for s, e in output_spans]
    collateral_return: Output | None = None
    if 16 in body:
        span = _map_spans(cbor, body_start)[16]
        collateral_return = decode_output(cbor[span[0] : span[1]])
    witness_spans = _map_spans(cbor, body_end)
    witnesses = cbor2.loads(cbor[body_end:witness_end])
    datums: dict[bytes, bytes] = {}
    if 4 in witness_spans:
        for s, e in _array_item_spans(cbor, witness_spans[4][0]):
            datums[blake2b_256(cbor[s:e])] = cbor[s:e]
    scripts: dict[bytes, Script] = {}
    for key, language in ((1, 0), (3, 1), (6, 2), (7, 3)):
        if key not in witness_spans:
            continue
        for s, e in _array_item_spans(cbor, witness_spans[key][0]):
            item = cbor[s:e] if language == 0 else _script_bytes(cbor2.loads(cbor[s:e]))
            script = Script(language, item)
            scripts[script.hash] = script
    return DecodedTx(
        cbor=cbor,
        id=blake2b_256(body_bytes),
        is_valid=is_valid,
        inputs=_refs(body[0]),
        outputs=outputs,
        fee=int(body[2]),
        ttl=body.get(3),
        validity_start=body.get(8),
        mint=_multiasset(body.get(9) or {}),
        script_data_hash=body.get(11),
        collateral=_refs(body.get(13) or []),
        collateral_return=collateral_return,
        total_collateral=body.get(17),
        required_signers=[bytes(k) for k in _items(body.get(14) or [])],
        reference_inputs=_refs(body.get(18) or []),
        network_id=body.get(15),
        vkey_witnesses=[(bytes(vk), bytes(sig)) for vk, sig in _items(witnesses.get(0) or [])],
        scripts=scripts,
        datums=datums,
        redeemers=_redeemers(witnesses.get(5)),
        redeemers_raw=_span(cbor, witness_spans.get(5)),
        datums_raw=_span(cbor, witness_spans.get(4)),
        metadata_raw=metadata_raw,
    )


def _span(data: bytes, span: tuple[int, int] | None) -> bytes | None:
    return None if span is None else data[span[0] : span[1]]


def _items(value: Any) -> list[Any]:
    """Items of an array, or of a set (tag 258) which cbor2 may hand back as a set."""
    if isinstance(value, CBORTag):
        value = value.value
    return list(value)


def _refs(value: Any) -> list[TxIn]:
    refs = [(bytes(ref[0]), int(ref[1])) for ref in _items(value)]
    return sorted(refs)


def _multiasset(value: dict[Any, Any]) -> Assets:
    return {bytes(p): {bytes(n): int(q) for n, q in names.items()} for p, names in value.items()}


def _amount(amount: Any) -> tuple[int, Assets]:
    if isinstance(amount, int):
        return amount, {}
    return int(amount[0]), _multiasset(amount[1])


def _script_bytes(body: Any) -> bytes:
    return bytes(body)


def _redeemers(value: Any) -> list[Redeemer]:
    if value is None:
        return []
    result: list[Redeemer] = []
    if isinstance(value, dict):
        for key, (data, units) in value.items():
            result.append(Redeemer(int(key[0]), int(key[1]), data, int(units[0]), int(units[1])))
    else:
        for tag, index, data, units in value:
            result.append(Redeemer(int(tag), int(index), data, int(units[0]), int(units[1])))
    return sorted(result, key=lambda r: (r.tag, r.index))


def _head(data: bytes, pos: int) -> tuple[int, int | None, int]:
    """Read an item head: (major type, argument or None if indefinite, next position)."""
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    if info in (24, 25, 26, 27):
        width = 1 << (info - 24)
        return major, int.from_bytes(data[pos : pos + width], "big"), pos + width
    if info == 31:
        return major, None, pos
    raise ValueError(f"reserved CBOR additional info {info}")


def _skip(data: bytes, pos: int) -> int:
    """Return the position just after the item starting at pos."""
    major, arg, pos = _head(data, pos)
    if major in (0, 1, 7):
        return pos
    if major in (2, 3):
        if arg is not None:
            return pos + arg
        while data[pos] != 0xFF:
            pos = _skip(data, pos)
        return pos + 1
    if major == 6:
        return _skip(data, pos)
    per_entry = 2 if major == 5 else 1
    if arg is not None:
        for _ in range(arg * per_entry):
            pos = _skip(data, pos)
        return pos
    while data[pos] != 0xFF:
        pos = _skip(data, pos)
    return pos + 1


def _map_spans(data: bytes, pos: int) -> dict[int, tuple[int, int]]:
    """Spans of the values of a map with small integer keys (the witness set)."""
    major, arg, pos = _head(data, pos)
    if major != 5:
        raise ValueError("the witness set is a map")
    spans: dict[int, tuple[int, int]] = {}
    remaining = arg
    while (remaining is None and data[pos] != 0xFF) or (remaining or 0) > 0:
        key_major, key, pos = _head(data, pos)
        if key_major != 0 or key is None:
            raise ValueError("witness set keys are unsigned integers")
        end = _skip(data, pos)
        spans[key] = (pos, end)
        pos = end
        if remaining is not None:
            remaining -= 1
    return spans


def _array_item_spans(data: bytes, pos: int) -> list[tuple[int, int]]:
    """Spans of the items of an array, optionally wrapped in the set tag 258."""
    major, arg, pos = _head(data, pos)
    if major == 6:
        major, arg, pos = _head(data, pos)
    if major != 4:
        raise ValueError("expected an array")
    spans = []
    index = 0
    while (arg is None and data[pos] != 0xFF) or (arg is not None and index < arg):
        end = _skip(data, pos)
        spans.append((pos, end))
        pos = end
        index += 1
    return spans
