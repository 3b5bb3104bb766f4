"""A plain payment built, balanced and signed by pycardano, submitted through the
simulator's Ogmios endpoint and followed by chain sync with the `ogmios` client."""

from __future__ import annotations

import asyncio

import ogmios
from ogmios.datatypes import Direction, Origin, TxOutputReference

from devnet.cardano import CardanoSimulator
from tests.devnet.cardano.txs import build_payment


def _client(sim: CardanoSimulator) -> ogmios.Client:
    return ogmios.Client(host=sim.host, port=sim.port)


async def test_payment_is_accepted_forged_and_followed(sim: CardanoSimulator) -> None:
    sender, receiver = sim.accounts[0], sim.accounts[1]
    tx = await asyncio.to_thread(build_payment, sim, sender, receiver.address, 5_000_000)
    context = sim.chain_context()
    await asyncio.to_thread(context.submit_tx, tx)

    block = await sim.advance()
    assert [v.tx.id_hex for v in block.transactions] == [str(tx.id)]

    def follow() -> list[object]:
        with _client(sim) as client:
            point, tip, _ = client.find_intersection.execute([Origin()])
            assert point == Origin()
            seen = []
            direction, _, first, _ = client.next_block.execute()
            assert direction == Direction.backward and first == Origin()
            while True:
                direction, tip, block, _ = client.next_block.execute()
                assert direction == Direction.forward
                seen.append(block)
                if block.height == tip.height:
                    return seen

    blocks = await asyncio.to_thread(follow)
    assert [b.height for b in blocks] == [1, 2]
    (tx_json,) = blocks[-1].transactions
    assert tx_json["id"] == str(tx.id)
    assert tx_json["spends"] == "inputs"
    assert tx_json["fee"] == {"ada": {"lovelace": tx.transaction_body.fee}}
    paid = [o for o in tx_json["outputs"] if o["address"] == receiver.address]
    assert paid == [{"address": receiver.address, "value": {"ada": {"lovelace": 5_000_000}}}]

    receiver_utxos = await asyncio.to_thread(sim.chain_context().utxos, receiver.address)
    assert sorted(u.output.amount.coin for u in receiver_utxos) == [
        5_000_000,
        receiver.lovelace,
    ]
    sender_utxos = await asyncio.to_thread(sim.chain_context().utxos, sender.address)
    assert sum(u.output.amount.coin for u in sender_utxos) == (
        sender.lovelace - 5_000_000 - tx.transaction_body.fee
    )


async def test_utxo_query_by_output_reference(sim: CardanoSimulator) -> None:
    sender = sim.accounts[0]
    tx = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[2].address, 2_000_000)
    await sim.submit(tx.to_cbor())
    await sim.advance()

    def query() -> list[object]:
        with _client(sim) as client:
            utxos, _ = client.query_utxo.execute(
                [TxOutputReference(str(tx.id), 0), TxOutputReference(str(tx.id), 9)]
            )
            return list(utxos)

    utxos = await asyncio.to_thread(query)
    assert len(utxos) == 1
    assert utxos[0].value == {"ada": {"lovelace": 2_000_000}}
