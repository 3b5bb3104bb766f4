"""Restart behaviour: the simulator keeps no state on disk; a restart is a fresh genesis.
With the same seed the genesis accounts and UTxOs come back; the old chain does not."""

from __future__ import annotations

import asyncio

from devnet.cardano import CardanoSimulator, GenesisConfig
from tests.devnet.cardano.rpc import call
from tests.devnet.cardano.txs import build_payment

SEED = b"restart".ljust(32, b"\0")


async def test_restart_is_a_fresh_genesis() -> None:
    async with CardanoSimulator(GenesisConfig(seed=SEED)) as first:
        tx = await asyncio.to_thread(
            build_payment, first, first.accounts[0], first.accounts[1].address, 9_000_000
        )
        await first.submit(tx.to_cbor())
        await first.forge_blocks(3)
        old_tip = first.tip
        accounts = [a.to_json() for a in first.accounts]

    async with CardanoSimulator(GenesisConfig(seed=SEED)) as second:
        assert [a.to_json() for a in second.accounts] == accounts
        assert second.tip.height == 1
        lost = await call(
            second.url,
            "queryLedgerState/utxo",
            {"outputReferences": [{"transaction": {"id": str(tx.id)}, "index": 0}]},
        )
        assert lost["result"] == []
        genesis_utxo = await asyncio.to_thread(
            second.chain_context().utxos, second.accounts[0].address
        )
        assert [u.output.amount.coin for u in genesis_utxo] == [second.accounts[0].lovelace]
        # A client resuming from the old chain finds no intersection and must start over.
        resume = await call(
            second.url,
            "findIntersection",
            {"points": [{"slot": old_tip.slot, "id": old_tip.id.hex()}]},
        )
        assert resume["error"]["code"] == 1000


async def test_without_seed_every_start_has_new_keys() -> None:
    async with CardanoSimulator() as first:
        address = first.accounts[0].address
    async with CardanoSimulator() as second:
        assert second.accounts[0].address != address
