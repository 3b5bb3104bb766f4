"""A transaction submitted again is refused as a node refuses it: its inputs are spent
(by its own copy in the mempool, or in a block), Ogmios 3117 UnknownOutputReference
listing every one of them. Only the first copy ever reaches a block."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycardano import ExecutionUnits, Transaction

from devnet.cardano import CardanoSimulator
from devnet.cardano.errors import SubmissionError
from tests.devnet.cardano.rpc import Rpc, call, connect_rpc
from tests.devnet.cardano.txs import (
    LockDatum,
    build_lock,
    build_payment,
    build_unlock,
    keccak_256,
    key_hash,
    script_utxos,
)

MESSAGE = (
    "The transaction contains unknown UTxO references as inputs. This can happen if the "
    "inputs you're trying to spend have already been spent, or if you've simply referred "
    "to non-existing UTxO altogether. The field 'data.unknownOutputReferences' indicates "
    "all unknown inputs."
)


async def _submit(sim: CardanoSimulator, tx: Transaction) -> dict[str, Any]:
    return await call(sim.url, "submitTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}})


def _refs(refs: Any) -> list[dict[str, Any]]:
    """Output references as Ogmios lists an unknown set: ascending, each once."""
    ordered = sorted({(bytes(r.transaction_id.payload), int(r.index)) for r in refs})
    return [{"transaction": {"id": tx_id.hex()}, "index": index} for tx_id, index in ordered]


def _unknown(inputs: Any) -> dict[str, Any]:
    return {"code": 3117, "message": MESSAGE, "data": {"unknownOutputReferences": _refs(inputs)}}


async def _payment_spending_two_inputs(sim: CardanoSimulator) -> Transaction:
    """A payment from a fresh pair of outputs of account 0 (so the error lists two)."""
    sender = sim.accounts[0]
    split = await asyncio.to_thread(build_payment, sim, sender, sender.address, 50_000_000)
    await sim.submit(split.to_cbor())
    await sim.advance()
    tx = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[1].address,
                                 sender.lovelace - 45_000_000)
    assert len(tx.transaction_body.inputs) == 2
    return tx


async def test_a_copy_of_a_transaction_in_the_mempool_is_refused(sim: CardanoSimulator) -> None:
    tx = await _payment_spending_two_inputs(sim)
    assert (await _submit(sim, tx))["result"] == {"transaction": {"id": str(tx.id)}}
    again = await _submit(sim, tx)
    assert again["error"] == _unknown(tx.transaction_body.inputs)
    assert [v.tx.id_hex for v in sim.chain.mempool] == [str(tx.id)]
    block = await sim.advance()
    assert [v.tx.id_hex for v in block.transactions] == [str(tx.id)]


async def test_a_copy_of_a_transaction_in_a_block_is_refused(sim: CardanoSimulator) -> None:
    tx = await _payment_spending_two_inputs(sim)
    await _submit(sim, tx)
    await sim.advance()
    again = await _submit(sim, tx)
    assert again["error"] == _unknown(tx.transaction_body.inputs)
    assert not sim.chain.mempool
    assert not (await sim.advance()).transactions


async def test_the_library_submit_refuses_a_copy_too(sim: CardanoSimulator) -> None:
    tx = await asyncio.to_thread(build_payment, sim, sim.accounts[0], sim.accounts[1].address,
                                 3_000_000)
    assert await sim.submit(tx.to_cbor()) == str(tx.id)
    with pytest.raises(SubmissionError) as refused:
        await sim.submit(tx.to_cbor())
    assert refused.value.code == 3117
    assert refused.value.to_json() == _unknown(tx.transaction_body.inputs)


async def test_a_copy_of_a_failed_script_transaction_is_refused_on_its_collateral(
        sim: CardanoSimulator) -> None:
    """Declared invalid, it spends only its collateral: that is what a copy lacks."""
    owner = sim.accounts[0]
    datum = LockDatum(key_hash(owner.signing_key), keccak_256(b"secret"), 0)
    await sim.submit((await asyncio.to_thread(build_lock, sim, owner, datum,
                                              10_000_000)).to_cbor())
    await sim.advance()
    (locked,) = await asyncio.to_thread(script_utxos, sim)
    tx = await asyncio.to_thread(build_unlock, sim, owner, locked, b"wrong",
                                 ex_units=ExecutionUnits(1_000_000, 500_000_000))
    tx.valid = False
    assert "result" in await _submit(sim, tx)
    for _ in range(2):  # in the mempool, then in a block
        again = await _submit(sim, tx)
        assert again["error"] == _unknown(tx.transaction_body.collateral)
        await sim.advance()
    assert await asyncio.to_thread(script_utxos, sim) == [locked]


async def test_has_transaction_answers_for_the_acquired_snapshot(sim: CardanoSimulator) -> None:
    first = await asyncio.to_thread(build_payment, sim, sim.accounts[0], sim.accounts[1].address,
                                    3_000_000)
    later = await asyncio.to_thread(build_payment, sim, sim.accounts[2], sim.accounts[1].address,
                                    3_000_000)
    await _submit(sim, first)
    async with connect_rpc(sim.url) as ws:
        rpc = Rpc(ws)
        assert (await rpc.call("hasTransaction", {"id": str(first.id)}))["error"]["code"] == 4000
        await rpc.call("acquireMempool")
        await _submit(sim, later)
        assert (await rpc.call("nextTransaction"))["result"] == {
            "transaction": {"id": str(first.id)}}
        # Read past by nextTransaction, still in the snapshot; the later one is not.
        assert (await rpc.call("hasTransaction", {"id": str(first.id)}))["result"] is True
        assert (await rpc.call("hasTransaction", {"id": str(later.id)}))["result"] is False
        await rpc.call("releaseMempool")
        await rpc.call("acquireMempool")
        assert (await rpc.call("hasTransaction", {"id": str(later.id)}))["result"] is True
