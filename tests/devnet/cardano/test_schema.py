"""Responses validate against the Ogmios v6 JSON schema shipped with the `ogmios` package."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import ogmios
import pytest
from pycardano import ExecutionUnits
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from devnet.cardano import CardanoSimulator
from tests.devnet.cardano.rpc import Rpc, connect_rpc
from tests.devnet.cardano.txs import (
    LockDatum,
    build_lock,
    build_payment,
    build_unlock,
    keccak_256,
    key_hash,
    script_utxos,
)

SCHEMA_DIR = Path(ogmios.__file__).parent / "model"


@pytest.fixture(scope="module")
def schemas() -> tuple[dict[str, Any], Registry]:
    registry: Registry = Registry()
    loaded = {}
    for name in ("cardano.json", "ogmios.json"):
        document = json.loads((SCHEMA_DIR / name).read_text())
        if name == "cardano.json":
            # The schema's `propertyNames` of Value also applies to its required "ada" key,
            # so no Ogmios value can satisfy it; drop that one constraint.
            document["definitions"]["Value"].pop("propertyNames")
            # The file predates Conway blocks, which the package's own models accept.
            document["definitions"]["Block<Praos>"]["properties"]["era"]["enum"].append("conway")
        loaded[name] = document
        # The files name their dialect with https; it is draft 7.
        resource = Resource.from_contents(document, default_specification=DRAFT7)
        document.pop("$schema", None)
        registry = registry.with_resource(name, DRAFT7.create_resource(document))
        _ = resource
    return loaded["ogmios.json"], registry


def _check(schemas: tuple[dict[str, Any], Registry], name: str, response: dict[str, Any]) -> None:
    ogmios_schema, registry = schemas
    schema = {"$ref": f"ogmios.json#/properties/{name}"}
    validator = jsonschema.Draft7Validator(schema, registry=registry)
    error = jsonschema.exceptions.best_match(validator.iter_errors(response))
    if error is not None:
        context = sorted(error.context or [], key=lambda e: len(list(e.absolute_path)))
        deepest = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in context[-5:]]
        raise AssertionError(f"{name}: {error.message[:300]} {deepest}")


async def test_responses_match_the_ogmios_schema(
    sim: CardanoSimulator, schemas: tuple[dict[str, Any], Registry]
) -> None:
    owner = sim.accounts[0]
    secret = b"schema"
    datum = LockDatum(key_hash(owner.signing_key), keccak_256(secret), 0)
    lock = await asyncio.to_thread(build_lock, sim, owner, datum, 10_000_000)
    await sim.submit(lock.to_cbor())
    await sim.advance()
    (locked,) = await asyncio.to_thread(script_utxos, sim)
    spend = await asyncio.to_thread(build_unlock, sim, owner, locked, secret)
    failing = await asyncio.to_thread(
        build_unlock,
        sim,
        owner,
        locked,
        b"wrong",
        ex_units=ExecutionUnits(1_000_000, 500_000_000),
    )
    payment = await asyncio.to_thread(build_payment, sim, owner, sim.accounts[1].address, 2_000_000)

    async with connect_rpc(sim.url) as ws:
        rpc = Rpc(ws)
        cbor = {"transaction": {"cbor": spend.to_cbor_hex()}}
        _check(schemas, "EvaluateTransactionResponse", await rpc.call("evaluateTransaction", cbor))
        failing_cbor = {"transaction": {"cbor": failing.to_cbor_hex()}}
        _check(
            schemas, "SubmitTransactionResponse", await rpc.call("submitTransaction", failing_cbor)
        )
        _check(schemas, "SubmitTransactionResponse", await rpc.call("submitTransaction", cbor))
        _check(schemas, "SubmitTransactionResponse", await rpc.call("submitTransaction", cbor))
        _check(
            schemas,
            "SubmitTransactionResponse",
            await rpc.call("submitTransaction", {"transaction": {"cbor": payment.to_cbor_hex()}}),
        )
        _check(schemas, "NextTransactionResponse", await rpc.call("nextTransaction"))
        _check(schemas, "AcquireMempoolResponse", await rpc.call("acquireMempool"))
        _check(
            schemas, "NextTransactionResponse", await rpc.call("nextTransaction", {"fields": "all"})
        )
        _check(schemas, "ReleaseMempoolResponse", await rpc.call("releaseMempool"))
        await sim.advance()

        _check(
            schemas,
            "FindIntersectionResponse",
            await rpc.call("findIntersection", {"points": ["origin"]}),
        )
        _check(
            schemas,
            "FindIntersectionResponse",
            await rpc.call("findIntersection", {"points": [{"slot": 1, "id": "00" * 32}]}),
        )
        for _ in range(sim.tip.height + 1):
            _check(schemas, "NextBlockResponse", await rpc.call("nextBlock"))

        queries = {
            "QueryNetworkTipResponse": ("queryNetwork/tip", None),
            "QueryNetworkStartTimeResponse": ("queryNetwork/startTime", None),
            "QueryNetworkBlockHeightResponse": ("queryNetwork/blockHeight", None),
            "QueryLedgerStateEpochResponse": ("queryLedgerState/epoch", None),
            "QueryLedgerStateTipResponse": ("queryLedgerState/tip", None),
            "QueryLedgerStateEraSummariesResponse": ("queryLedgerState/eraSummaries", None),
            "QueryLedgerStateEraStartResponse": ("queryLedgerState/eraStart", None),
            "QueryLedgerStateProtocolParametersResponse": (
                "queryLedgerState/protocolParameters",
                None,
            ),
            "QueryLedgerStateUtxoResponse": (
                "queryLedgerState/utxo",
                {"addresses": [owner.address, str(locked.output.address)]},
            ),
        }
        for schema_name, (method, params) in queries.items():
            _check(schemas, schema_name, await rpc.call(method, params))
        # Byron is left to the client test: this file wants `protocolParameters` there while
        # the client (its models marked "Edited") requires `updatableParameters`.
        for era in ("shelley", "alonzo", "conway"):
            _check(
                schemas,
                "QueryNetworkGenesisConfigurationResponse",
                await rpc.call("queryNetwork/genesisConfiguration", {"era": era}),
            )
