"""Ogmios v6 JSON shapes of ledger data: values, outputs, UTxOs, transactions."""

from __future__ import annotations

from typing import Any

import cbor2

from devnet.cardano.model import (
    REDEEMER_PURPOSES,
    SCRIPT_LANGUAGES,
    Assets,
    DecodedTx,
    Output,
    Script,
    TxIn,
)


def reference_json(ref: TxIn) -> dict[str, Any]:
    return {"transaction": {"id": ref[0].hex()}, "index": ref[1]}


def value_json(lovelace: int, assets: Assets) -> dict[str, Any]:
    value: dict[str, Any] = {"ada": {"lovelace": lovelace}}
    for policy in sorted(assets):
        value[policy.hex()] = {name.hex(): q for name, q in sorted(assets[policy].items())}
    return value


def script_json(script: Script) -> dict[str, Any]:
    language = SCRIPT_LANGUAGES[script.language]
    if script.language == 0:
        native = native_script_json(cbor2.loads(script.body))
        return {"language": language, "json": native, "cbor": script.body.hex()}
    return {"language": language, "cbor": script.body.hex()}


def native_script_json(script: Any) -> dict[str, Any]:
    """A native script (as decoded CBOR) in Ogmios' JSON form."""
    tag = script[0]
    if tag == 0:
        return {"clause": "signature", "from": bytes(script[1]).hex()}
    if tag in (1, 2):
        clause = "all" if tag == 1 else "any"
        return {"clause": clause, "from": [native_script_json(s) for s in script[1]]}
    if tag == 3:
        return {
            "clause": "some",
            "atLeast": int(script[1]),
            "from": [native_script_json(s) for s in script[2]],
        }
    if tag == 4:
        return {"clause": "after", "slot": int(script[1])}
    if tag == 5:
        return {"clause": "before", "slot": int(script[1])}
    raise ValueError(f"unknown native script clause {tag}")


def output_json(output: Output) -> dict[str, Any]:
    result: dict[str, Any] = {
        "address": output.bech32,
        "value": value_json(output.lovelace, output.assets),
    }
    if output.datum is not None:
        result["datum"] = output.datum.hex()
    elif output.datum_hash is not None:
        result["datumHash"] = output.datum_hash.hex()
    if output.script is not None:
        result["script"] = script_json(output.script)
    return result


def utxo_json(ref: TxIn, output: Output) -> dict[str, Any]:
    return {**reference_json(ref), **output_json(output)}


def transaction_json(tx: DecodedTx) -> dict[str, Any]:
    """A transaction as it appears in a block (`nextBlock`) or the mempool."""
    result: dict[str, Any] = {
        "id": tx.id_hex,
        "spends": "inputs" if tx.is_valid else "collaterals",
        "inputs": [reference_json(r) for r in tx.inputs],
    }
    if tx.reference_inputs:
        result["references"] = [reference_json(r) for r in tx.reference_inputs]
    if tx.collateral:
        result["collaterals"] = [reference_json(r) for r in tx.collateral]
    if tx.collateral_return is not None:
        result["collateralReturn"] = output_json(tx.collateral_return)
    if tx.total_collateral is not None:
        result["totalCollateral"] = {"ada": {"lovelace": tx.total_collateral}}
    result["outputs"] = [output_json(o) for o in tx.outputs]
    result["fee"] = {"ada": {"lovelace": tx.fee}}
    interval: dict[str, int] = {}
    if tx.validity_start is not None:
        interval["invalidBefore"] = tx.validity_start
    if tx.ttl is not None:
        interval["invalidAfter"] = tx.ttl
    result["validityInterval"] = interval
    if tx.mint:
        result["mint"] = {
            policy.hex(): {name.hex(): q for name, q in sorted(names.items())}
            for policy, names in sorted(tx.mint.items())
        }
    if tx.network_id is not None:
        result["network"] = "mainnet" if tx.network_id else "testnet"
    if tx.script_data_hash is not None:
        result["scriptIntegrityHash"] = tx.script_data_hash.hex()
    if tx.required_signers:
        result["requiredExtraSignatories"] = [k.hex() for k in tx.required_signers]
    if tx.scripts:
        result["scripts"] = {h.hex(): script_json(s) for h, s in sorted(tx.scripts.items())}
    if tx.datums:
        result["datums"] = {h.hex(): d.hex() for h, d in sorted(tx.datums.items())}
    if tx.redeemers:
        result["redeemers"] = [
            {
                "validator": {"purpose": REDEEMER_PURPOSES[r.tag], "index": r.index},
                "redeemer": cbor2.dumps(r.data).hex(),
                "executionUnits": {"memory": r.memory, "cpu": r.cpu},
            }
            for r in tx.redeemers
        ]
    result["signatories"] = [
        {"key": vk.hex(), "signature": sig.hex()} for vk, sig in tx.vkey_witnesses
    ]
    result["cbor"] = tx.cbor.hex()
    return result


def evaluation_json(validated_executions: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "validator": {"purpose": REDEEMER_PURPOSES[r.tag], "index": r.index},
            "budget": {"memory": res.memory, "cpu": res.cpu},
        }
        for r, res in validated_executions
    ]
