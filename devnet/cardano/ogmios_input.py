"""Parsing of UTxOs given in Ogmios JSON (the `additionalUtxo` of evaluateTransaction)."""

from __future__ import annotations

from typing import Any

import cbor2
from pycardano import Address

from devnet.cardano.errors import InvalidParams
from devnet.cardano.model import Assets, Output, Script, TxIn

_LANGUAGES = {"plutus:v1": 1, "plutus:v2": 2, "plutus:v3": 3}


def parse_additional_utxo(value: Any) -> dict[TxIn, Output]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise InvalidParams("additionalUtxo must be a list")
    result: dict[TxIn, Output] = {}
    for item in value:
        try:
            ref = (bytes.fromhex(item["transaction"]["id"]), int(item["index"]))
            result[ref] = parse_output(item)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParams(f"invalid additional UTxO {item!r}") from exc
    return result


def parse_output(item: dict[str, Any]) -> Output:
    address = bytes(Address.from_primitive(item["address"]).to_primitive())
    lovelace = 0
    assets: Assets = {}
    for policy, names in item["value"].items():
        if policy == "ada":
            lovelace = int(names["lovelace"])
        else:
            assets[bytes.fromhex(policy)] = {bytes.fromhex(n): int(q) for n, q in names.items()}
    datum = bytes.fromhex(item["datum"]) if item.get("datum") else None
    datum_hash = bytes.fromhex(item["datumHash"]) if item.get("datumHash") else None
    script = None
    if item.get("script"):
        language = _LANGUAGES.get(item["script"]["language"])
        if language is None:
            raise ValueError("only Plutus reference scripts are supported")
        script = Script(language, bytes.fromhex(item["script"]["cbor"]))
    amount: Any = lovelace if not assets else [lovelace, assets]
    raw = cbor2.dumps({0: address, 1: amount})
    return Output(address, lovelace, assets, datum_hash, datum, script, raw)
