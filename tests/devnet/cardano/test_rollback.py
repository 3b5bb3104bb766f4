"""Rollbacks: a chain-sync client sees a backward roll to the right point, then the
re-forged blocks; a `nextBlock` at the tip waits for the next block."""

from __future__ import annotations

import asyncio

import ogmios
import pytest
from ogmios.datatypes import Direction, Point

from devnet.cardano import CardanoSimulator
from tests.devnet.cardano.rpc import Rpc, connect_rpc
from tests.devnet.cardano.txs import build_payment

DEADLINE = 10


async def _sync_to_tip(rpc: Rpc) -> list[dict[str, object]]:
    response = await rpc.call("findIntersection", {"points": ["origin"]})
    assert response["result"]["intersection"] == "origin"
    first = await rpc.call("nextBlock")
    assert first["result"]["direction"] == "backward"
    blocks = []
    while True:
        result = (await rpc.call("nextBlock"))["result"]
        assert result["direction"] == "forward"
        blocks.append(result["block"])
        if result["block"]["height"] == result["tip"]["height"]:
            return blocks


@pytest.mark.parametrize("depth", [1, 2, 3])
async def test_rollback_is_a_backward_roll_then_reforged_blocks(
    sim: CardanoSimulator, depth: int
) -> None:
    tx = await asyncio.to_thread(
        build_payment, sim, sim.accounts[0], sim.accounts[1].address, 7_000_000
    )
    await sim.submit(tx.to_cbor())
    await sim.forge_blocks(4)  # heights 2..5; the payment is in height 2
    async with connect_rpc(sim.url) as ws:
        rpc = Rpc(ws)
        blocks = await _sync_to_tip(rpc)
        assert [b["height"] for b in blocks] == [1, 2, 3, 4, 5]
        keep = blocks[len(blocks) - depth - 1]

        reforged = await sim.rollback(depth, reforge=True)

        back = (await rpc.call("nextBlock"))["result"]
        assert back["direction"] == "backward"
        assert back["point"] == {"slot": keep["slot"], "id": keep["id"]}
        assert back["tip"] == {
            "slot": reforged[-1].slot,
            "id": reforged[-1].id.hex(),
            "height": reforged[-1].height,
        }
        for block in reforged:
            forward = (await rpc.call("nextBlock"))["result"]
            assert forward["direction"] == "forward"
            assert forward["block"]["id"] == block.id.hex()
            assert forward["block"]["ancestor"] == (
                blocks[-depth - 1]["id"] if block is reforged[0] else forward["block"]["ancestor"]
            )
        assert {b["id"] for b in blocks[-depth:]}.isdisjoint(b.id.hex() for b in reforged)

    # The payment survives: re-forged (depth 4 would be needed to drop height 2).
    utxo = await asyncio.to_thread(sim.chain_context().utxos, sim.accounts[1].address)
    assert 7_000_000 in [u.output.amount.coin for u in utxo]


async def test_rolled_back_transaction_returns_to_the_mempool(sim: CardanoSimulator) -> None:
    tx = await asyncio.to_thread(
        build_payment, sim, sim.accounts[0], sim.accounts[1].address, 7_000_000
    )
    await sim.submit(tx.to_cbor())
    block = await sim.advance()
    assert block.transactions
    await sim.rollback(1)
    assert [v.tx.id_hex for v in sim.chain.mempool] == [str(tx.id)]
    assert (await sim.advance()).transactions[0].tx.id_hex == str(tx.id)

    await sim.rollback(1, drop_transactions=True)
    assert sim.chain.mempool == []
    utxo = await asyncio.to_thread(sim.chain_context().utxos, sim.accounts[1].address)
    assert [u.output.amount.coin for u in utxo] == [sim.accounts[1].lovelace]


async def test_next_block_waits_for_a_new_block(sim: CardanoSimulator) -> None:
    async with connect_rpc(sim.url) as ws:
        rpc = Rpc(ws)
        await _sync_to_tip(rpc)
        await rpc.send("nextBlock")
        waiting = asyncio.create_task(rpc.receive())
        # Queries on the same connection are answered while nextBlock waits.
        tip = await asyncio.wait_for(_call_other(sim), timeout=DEADLINE)
        assert not waiting.done()
        block = await sim.advance()
        response = await asyncio.wait_for(waiting, timeout=DEADLINE)
        assert response["result"]["block"]["id"] == block.id.hex()
        assert tip["result"]["slot"] < block.slot


async def _call_other(sim: CardanoSimulator) -> dict[str, object]:
    from tests.devnet.cardano.rpc import call

    return await call(sim.url, "queryNetwork/tip")


async def test_ogmios_client_parses_a_rollback(sim: CardanoSimulator) -> None:
    await sim.forge_blocks(3)
    point = sim.chain.blocks[1].point

    def follow_then_roll(phase: asyncio.Event | None = None) -> tuple[object, object]:
        with ogmios.Client(host=sim.host, port=sim.port) as client:
            start = Point(slot=point[0], id=point[1].hex())
            intersection, tip, _ = client.find_intersection.execute([start])
            assert intersection == start
            direction, _, rolled_to, _ = client.next_block.execute()
            assert direction == Direction.backward
            return rolled_to, tip

    rolled_to, tip = await asyncio.to_thread(follow_then_roll)
    assert rolled_to == Point(slot=point[0], id=point[1].hex())
    assert tip.height == 4


async def test_unknown_intersection(sim: CardanoSimulator) -> None:
    async with connect_rpc(sim.url) as ws:
        response = await Rpc(ws).call(
            "findIntersection", {"points": [{"slot": 99, "id": "ab" * 32}]}
        )
    assert response["error"]["code"] == 1000
    assert response["error"]["data"]["tip"]["height"] == sim.tip.height
