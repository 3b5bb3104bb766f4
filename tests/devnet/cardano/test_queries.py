"""State queries and mempool monitoring through the `ogmios` client (strict models under
pytest) and pycardano's OgmiosV6ChainContext."""

from __future__ import annotations

import asyncio
from datetime import datetime

import ogmios
import pytest
from ogmios.datatypes import Era
from ogmios.errors import ResponseError
from ogmios.utils import GenesisParameters, get_current_era

from devnet.cardano import CardanoSimulator
from tests.devnet.cardano.rpc import Rpc, call, connect_rpc
from tests.devnet.cardano.txs import build_payment


def _client(sim: CardanoSimulator) -> ogmios.Client:
    return ogmios.Client(host=sim.host, port=sim.port)


async def test_network_queries(sim: CardanoSimulator) -> None:
    await sim.advance(10)

    def query() -> dict[str, object]:
        with _client(sim) as client:
            tip, _ = client.query_network_tip.execute()
            start, _ = client.query_start_time.execute()
            epoch, _ = client.query_epoch.execute()
            summaries, _ = client.query_era_summaries.execute()
            era = get_current_era(client)
            return {"tip": tip, "start": start, "epoch": epoch, "summaries": summaries, "era": era}

    answers = await asyncio.to_thread(query)
    assert answers["tip"].slot == sim.tip.slot == sim.genesis.first_slot + 10
    assert answers["tip"].id == sim.tip.id.hex()
    assert answers["start"] == datetime.utcfromtimestamp(sim.genesis.start_time)
    assert answers["epoch"] == 1
    assert answers["era"] == Era.conway
    conway = answers["summaries"][-1]
    assert conway.slot_length == sim.genesis.slot_length_ms
    assert conway.end_slot > sim.current_slot


async def test_protocol_parameters_and_genesis(sim: CardanoSimulator) -> None:
    def query() -> tuple[object, object]:
        with _client(sim) as client:
            params, _ = client.query_protocol_parameters.execute()
            genesis = GenesisParameters(client, Era.conway)
            return params, genesis

    params, genesis = await asyncio.to_thread(query)
    assert params.min_fee_coefficient == 44
    assert len(params.plutus_cost_models["plutus:v3"]) == 297
    assert genesis.network_magic == 42
    assert genesis.security_parameter == 2160

    pycardano_params = await asyncio.to_thread(lambda: sim.chain_context().protocol_param)
    assert pycardano_params.min_fee_constant == 155_381
    assert pycardano_params.collateral_percent == 150
    assert len(pycardano_params.cost_models["PlutusV3"]) == 297


async def test_genesis_configuration_requires_an_era(sim: CardanoSimulator) -> None:
    response = await call(sim.url, "queryNetwork/genesisConfiguration", {"era": "mary"})
    assert response["error"]["code"] == -32602


async def test_mempool_monitoring(sim: CardanoSimulator) -> None:
    tx = await asyncio.to_thread(
        build_payment, sim, sim.accounts[0], sim.accounts[1].address, 2_000_000
    )
    await sim.submit(tx.to_cbor())
    async with connect_rpc(sim.url) as ws:
        rpc = Rpc(ws)
        assert (await rpc.call("nextTransaction"))["error"]["code"] == 4000
        acquired = (await rpc.call("acquireMempool"))["result"]
        assert acquired == {"acquired": "mempool", "slot": sim.current_slot}
        first = (await rpc.call("nextTransaction", {"fields": "all"}))["result"]
        assert first["transaction"]["id"] == str(tx.id)
        assert first["transaction"]["cbor"] == tx.to_cbor_hex()
        assert (await rpc.call("nextTransaction"))["result"] == {"transaction": None}
        assert (await rpc.call("releaseMempool"))["result"] == {"released": "mempool"}

    def by_client() -> list[object]:
        with _client(sim) as client:
            return list(ogmios.utils.get_mempool_transactions(client))

    assert len(await asyncio.to_thread(by_client)) == 1


async def test_evaluate_plain_payment_is_empty(sim: CardanoSimulator) -> None:
    tx = await asyncio.to_thread(
        build_payment, sim, sim.accounts[0], sim.accounts[1].address, 2_000_000
    )
    response = await call(
        sim.url,
        "evaluateTransaction",
        {"transaction": {"cbor": tx.to_cbor_hex()}, "additionalUtxo": None},
    )
    assert response["result"] == []


async def test_bad_requests(sim: CardanoSimulator) -> None:
    bad_cbor = await call(sim.url, "submitTransaction", {"transaction": {"cbor": "00ff"}})
    assert bad_cbor["error"]["code"] == -32602
    unknown = await call(sim.url, "noSuchMethod")
    assert unknown["error"]["code"] == -32601

    def submit_garbage() -> None:
        with _client(sim) as client:
            client.submit_transaction.execute("84a0")

    with pytest.raises(ResponseError):
        await asyncio.to_thread(submit_garbage)


async def test_many_short_connections_and_long_chain_sync(sim: CardanoSimulator) -> None:
    async def follower() -> int:
        async with connect_rpc(sim.url) as ws:
            rpc = Rpc(ws)
            await rpc.call("findIntersection", {"points": ["origin"]})
            await rpc.call("nextBlock")
            heights = []
            while not heights or heights[-1] < 6:
                result = (await rpc.call("nextBlock"))["result"]
                heights.append(result["block"]["height"])
            return len(heights)

    async def querier() -> None:
        for _ in range(5):
            assert "result" in await call(sim.url, "queryNetwork/tip")

    followers = [asyncio.create_task(follower()) for _ in range(20)]
    await asyncio.gather(*(querier() for _ in range(20)))
    for _ in range(5):
        await sim.advance()
    assert await asyncio.wait_for(asyncio.gather(*followers), timeout=30) == [6] * 20
