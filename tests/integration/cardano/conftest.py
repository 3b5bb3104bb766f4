from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devnet.cardano import CardanoSimulator, GenesisConfig
from relayer.store.sqlite import SQLiteEventStore

SEED = bytes(range(32))
HERE = Path(__file__).parent

# pycardano's chain context opens the `ogmios` 1.4.3 client, which calls websockets 17's
# `connect()` without a context manager; the project turns warnings into errors.
_OGMIOS_CONNECT_WARNING = (
    "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings(_OGMIOS_CONNECT_WARNING))
            item.add_marker(pytest.mark.integration)


@pytest.fixture
async def sim() -> AsyncIterator[CardanoSimulator]:
    async with CardanoSimulator(GenesisConfig(seed=SEED)) as simulator:
        yield simulator


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    events = SQLiteEventStore(tmp_path / "events.db")
    await events.open()
    yield events
    await events.close()
