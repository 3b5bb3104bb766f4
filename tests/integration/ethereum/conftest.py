from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devnet.ethereum import EthereumDevnet
from relayer.store.sqlite import SQLiteEventStore
from tests.contracts.evm.chain import Chain
from tests.integration.ethereum.harness import Harness

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here runs anvil: mark them integration."""
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def devnet() -> AsyncIterator[EthereumDevnet]:
    """A fresh anvil per test: a monitor follows it from block 0, and reorgs stay local."""
    async with EthereumDevnet() as running:
        yield running


@pytest.fixture
def chain(devnet: EthereumDevnet) -> Chain:
    return Chain(devnet)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    events = SQLiteEventStore(tmp_path / "events.db")
    await events.open()
    yield events
    await events.close()


@pytest.fixture
async def harness(devnet: EthereumDevnet, store: SQLiteEventStore
                  ) -> AsyncIterator[Harness]:
    running = Harness(store, [devnet.rpc_url])
    yield running
    await running.close()
