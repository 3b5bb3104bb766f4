"""Markers by file, and the Cardano wallet tests' fixtures (the Ethereum wallet tests
keep theirs in their module)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devnet.cardano import CardanoSimulator, GenesisConfig
from relayer.store.sqlite import SQLiteEventStore
from resolver.cardano import CardanoWallet
from tests.resolver.cardano_kit import SEED, funded_maker, mine, wallet

HERE = Path(__file__).parent
INTEGRATION = {
    "test_ethereum_wallet.py",  # anvil
    "test_cardano_wallet.py",  # the Cardano devnet
    "test_cardano_lineage.py",
    "test_cardano_resubmission.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The wallet tests run real chains: mark them integration."""
    for item in items:
        if Path(str(item.path)).parent == HERE and item.path.name in INTEGRATION:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def sim() -> AsyncIterator[CardanoSimulator]:
    """The simulator on a manual clock, with a miner forging a block (one slot later)
    whenever a transaction waits."""
    async with CardanoSimulator(GenesisConfig(seed=SEED)) as simulator:
        miner = asyncio.create_task(mine(simulator))
        try:
            yield simulator
        finally:
            miner.cancel()
            with pytest.raises(asyncio.CancelledError):
                await miner


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    events = SQLiteEventStore(tmp_path / "events.db")
    await events.open()
    yield events
    await events.close()


@pytest.fixture
async def resolver(sim: CardanoSimulator) -> CardanoWallet:
    return wallet(sim, sim.accounts[1].signing_key)


@pytest.fixture
async def maker(sim: CardanoSimulator) -> CardanoWallet:
    """The factories' Cardano maker, funded with 1,000 ADA."""
    return await funded_maker(sim)
