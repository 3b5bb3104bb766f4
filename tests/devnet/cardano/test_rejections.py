"""Ledger rules: each broken transaction is rejected with its Ogmios v6 error code; a
transaction declared invalid (phase 2) is included and only its collateral is spent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycardano import ExecutionUnits, Transaction

from devnet.cardano import CardanoSimulator
from tests.devnet.cardano.rpc import call
from tests.devnet.cardano.txs import (
    LockDatum,
    build_lock,
    build_payment,
    build_unlock,
    keccak_256,
    key_hash,
    resign,
    script_utxos,
)

SECRET = b"open sesame"
BUDGET = ExecutionUnits(1_000_000, 500_000_000)


async def _submit(sim: CardanoSimulator, tx: Transaction) -> dict[str, Any]:
    params = {"transaction": {"cbor": tx.to_cbor_hex()}}
    return await call(sim.url, "submitTransaction", params)


def _error_code(response: dict[str, Any]) -> int:
    assert "error" in response, response
    code: int = response["error"]["code"]
    return code


async def _locked(sim: CardanoSimulator) -> Any:
    owner = sim.accounts[0]
    datum = LockDatum(key_hash(owner.signing_key), keccak_256(SECRET), 0)
    tx = await asyncio.to_thread(build_lock, sim, owner, datum, 10_000_000)
    assert "result" in await _submit(sim, tx)
    await sim.advance()
    (utxo,) = await asyncio.to_thread(script_utxos, sim)
    return utxo


async def test_double_spend_is_unknown_output_reference(sim: CardanoSimulator) -> None:
    sender = sim.accounts[0]
    first = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[1].address, 3_000_000)
    second = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[2].address, 4_000_000)
    assert first.transaction_body.inputs == second.transaction_body.inputs
    assert (await _submit(sim, first))["result"] == {"transaction": {"id": str(first.id)}}
    # Rejected against the mempool, and again once the first is in a block.
    assert _error_code(await _submit(sim, second)) == 3117
    await sim.advance()
    response = await _submit(sim, second)
    assert _error_code(response) == 3117
    spent = second.transaction_body.inputs[0]
    assert response["error"]["data"] == {
        "unknownOutputReferences": [
            {"transaction": {"id": str(spent.transaction_id)}, "index": spent.index}
        ]
    }


async def test_missing_signature(sim: CardanoSimulator) -> None:
    sender = sim.accounts[0]
    tx = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[1].address, 3_000_000)
    resign(tx, [sim.accounts[1].signing_key])
    response = await _submit(sim, tx)
    assert _error_code(response) == 3101
    assert response["error"]["data"] == {"missingSignatories": [key_hash(sender.signing_key).hex()]}


async def test_forged_signature_is_invalid(sim: CardanoSimulator) -> None:
    tx = await asyncio.to_thread(
        build_payment, sim, sim.accounts[0], sim.accounts[1].address, 3_000_000
    )
    tx.transaction_body.fee += 1  # the existing signature no longer matches the body
    assert _error_code(await _submit(sim, tx)) == 3100


async def test_expired_validity_interval(sim: CardanoSimulator) -> None:
    ttl = sim.tip.slot + 3
    tx = await asyncio.to_thread(
        build_payment, sim, sim.accounts[0], sim.accounts[1].address, 3_000_000, ttl=ttl
    )
    await sim.advance(3)
    response = await _submit(sim, tx)
    assert _error_code(response) == 3118
    assert response["error"]["data"] == {
        "validityInterval": {"invalidAfter": ttl},
        "currentSlot": sim.current_slot,
    }


async def test_fee_below_the_floor(sim: CardanoSimulator) -> None:
    sender = sim.accounts[0]
    tx = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[1].address, 3_000_000)
    body = tx.transaction_body
    body.fee -= 20_000
    body.outputs[-1].amount.coin += 20_000  # still balanced: only the fee is too small
    resign(tx, [sender.signing_key])
    response = await _submit(sim, tx)
    assert _error_code(response) == 3122
    minimum = response["error"]["data"]["minimumRequiredFee"]["ada"]["lovelace"]
    assert minimum > body.fee


async def test_unbalanced_transaction(sim: CardanoSimulator) -> None:
    sender = sim.accounts[0]
    tx = await asyncio.to_thread(build_payment, sim, sender, sim.accounts[1].address, 3_000_000)
    tx.transaction_body.outputs[-1].amount.coin += 1
    resign(tx, [sender.signing_key])
    assert _error_code(await _submit(sim, tx)) == 3123


async def test_failing_script_is_rejected(sim: CardanoSimulator) -> None:
    locked = await _locked(sim)
    tx = await asyncio.to_thread(
        build_unlock, sim, sim.accounts[0], locked, b"wrong secret", ex_units=BUDGET
    )
    # Submission: phase 2 fails although the tx declares it spends its inputs.
    response = await _submit(sim, tx)
    assert _error_code(response) == 3136
    assert response["error"]["data"]["declaredSpending"] == "inputs"
    assert "wrong secret" in response["error"]["data"]["mismatchReason"]

    # Evaluation reports the script failure itself, with its traces.
    evaluation = await call(
        sim.url, "evaluateTransaction", {"transaction": {"cbor": tx.to_cbor_hex()}}
    )
    assert _error_code(evaluation) == 3010
    (failure,) = evaluation["error"]["data"]
    assert failure["validator"] == {"purpose": "spend", "index": 0}
    assert failure["error"]["code"] == 3012
    assert failure["error"]["data"]["traces"] == ["wrong secret"]


async def test_script_checks_its_signatory(sim: CardanoSimulator) -> None:
    locked = await _locked(sim)
    with pytest.raises(Exception, match="3010"):
        # pycardano evaluates while building: the script sees no owner signature.
        await asyncio.to_thread(build_unlock, sim, sim.accounts[1], locked, SECRET)


async def test_phase_two_failure_consumes_only_the_collateral(sim: CardanoSimulator) -> None:
    locked = await _locked(sim)
    tx = await asyncio.to_thread(
        build_unlock, sim, sim.accounts[0], locked, b"wrong secret", ex_units=BUDGET
    )
    tx.valid = False
    response = await _submit(sim, tx)
    assert response["result"] == {"transaction": {"id": str(tx.id)}}
    block = await sim.advance()

    (validated,) = block.transactions
    assert not validated.spends_inputs
    assert await asyncio.to_thread(script_utxos, sim) == [locked]
    collateral = tx.transaction_body.collateral[0]
    query = await call(
        sim.url,
        "queryLedgerState/utxo",
        {
            "outputReferences": [
                {"transaction": {"id": str(collateral.transaction_id)}, "index": collateral.index}
            ]
        },
    )
    assert query["result"] == []
    returned = await call(
        sim.url,
        "queryLedgerState/utxo",
        {
            "outputReferences": [
                {"transaction": {"id": str(tx.id)}, "index": len(tx.transaction_body.outputs)}
            ]
        },
    )
    assert len(returned["result"]) == (1 if tx.transaction_body.collateral_return else 0)


async def test_declared_invalid_but_succeeding_is_a_spends_mismatch(sim: CardanoSimulator) -> None:
    locked = await _locked(sim)
    tx = await asyncio.to_thread(build_unlock, sim, sim.accounts[0], locked, SECRET)
    tx.valid = False
    assert _error_code(await _submit(sim, tx)) == 3136
