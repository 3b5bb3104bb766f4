"""Plutus V3 spends of the OpShin hashlock validator, built by pycardano's
TransactionBuilder (which asks the simulator's evaluateTransaction for budgets)."""

from __future__ import annotations

import asyncio

import ogmios
from ogmios.datatypes import Origin
from pycardano import Address, Transaction, UTxO

from devnet.cardano import CardanoSimulator
from tests.devnet.cardano.txs import (
    LockDatum,
    build_lock,
    build_unlock,
    hashlock_script,
    keccak_256,
    key_hash,
    script_utxos,
)

SECRET = b"the secret preimage"


async def _submit(sim: CardanoSimulator, tx: Transaction) -> None:
    await asyncio.to_thread(sim.chain_context().submit_tx, tx)


async def _lock(
    sim: CardanoSimulator, *, inline: bool = True, with_reference: bool = False
) -> LockDatum:
    owner = sim.accounts[0]
    datum = LockDatum(key_hash(owner.signing_key), keccak_256(SECRET), 0)
    reference = hashlock_script() if with_reference else None
    tx = await asyncio.to_thread(
        build_lock, sim, owner, datum, 10_000_000, inline=inline, reference_script=reference
    )
    await _submit(sim, tx)
    await sim.advance()
    return datum


def _last_block_transactions(sim: CardanoSimulator) -> list[dict[str, object]]:
    with ogmios.Client(host=sim.host, port=sim.port) as client:
        tip, _ = client.query_network_tip.execute()
        client.find_intersection.execute([Origin()])
        client.next_block.execute()
        while True:
            _, _, block, _ = client.next_block.execute()
            if block.id == tip.id:
                return list(block.transactions)


async def test_spend_with_inline_datum(sim: CardanoSimulator) -> None:
    await _lock(sim)
    (locked,) = await asyncio.to_thread(script_utxos, sim)
    tx = await asyncio.to_thread(build_unlock, sim, sim.accounts[0], locked, SECRET)
    await _submit(sim, tx)
    block = await sim.advance()

    (validated,) = block.transactions
    (redeemer, execution) = validated.executions[0]
    assert 0 < execution.cpu <= redeemer.cpu and 0 < execution.memory <= redeemer.memory
    assert await asyncio.to_thread(script_utxos, sim) == []
    (tx_json,) = await asyncio.to_thread(_last_block_transactions, sim)
    assert tx_json["spends"] == "inputs"
    assert tx_json["redeemers"][0]["validator"] == {"purpose": "spend", "index": 0}
    assert tx_json["scriptIntegrityHash"] == tx.transaction_body.script_data_hash.payload.hex()


async def test_spend_with_datum_hash(sim: CardanoSimulator) -> None:
    datum = await _lock(sim, inline=False)
    (locked,) = await asyncio.to_thread(script_utxos, sim)
    assert locked.output.datum_hash == datum.hash()
    tx = await asyncio.to_thread(build_unlock, sim, sim.accounts[0], locked, SECRET, datum=datum)
    await _submit(sim, tx)
    block = await sim.advance()
    assert [v.tx.id_hex for v in block.transactions] == [str(tx.id)]
    (tx_json,) = await asyncio.to_thread(_last_block_transactions, sim)
    assert list(tx_json["datums"]) == [datum.hash().payload.hex()]


async def test_spend_with_reference_script(sim: CardanoSimulator) -> None:
    await _lock(sim, with_reference=True)
    owner = sim.accounts[0]
    owner_utxos: list[UTxO] = await asyncio.to_thread(sim.chain_context().utxos, owner.address)
    (reference,) = [u for u in owner_utxos if u.output.script is not None]
    (locked,) = await asyncio.to_thread(script_utxos, sim)
    tx = await asyncio.to_thread(build_unlock, sim, owner, locked, SECRET, reference_utxo=reference)
    assert not tx.transaction_witness_set.plutus_v3_script
    await _submit(sim, tx)
    block = await sim.advance()
    (validated,) = block.transactions
    assert validated.tx.reference_inputs == [
        (reference.input.transaction_id.payload, reference.input.index)
    ]
    (tx_json,) = await asyncio.to_thread(_last_block_transactions, sim)
    assert tx_json["references"] == [
        {"transaction": {"id": str(reference.input.transaction_id)}, "index": reference.input.index}
    ]
    remaining = await asyncio.to_thread(sim.chain_context().utxos, owner.address)
    assert any(u.output.script == hashlock_script() for u in remaining)
    assert Address.from_primitive(owner.address)
