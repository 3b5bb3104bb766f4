from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devnet.cardano import CardanoSimulator, GenesisConfig

SEED = bytes(range(32))
HERE = Path(__file__).parent

# The `ogmios` 1.4.3 client opens `websockets.sync.client.connect()` without a context
# manager, which websockets 17 deprecates; the project turns warnings into errors.
_OGMIOS_CONNECT_WARNING = (
    "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings(_OGMIOS_CONNECT_WARNING))


@pytest.fixture
async def sim() -> AsyncIterator[CardanoSimulator]:
    async with CardanoSimulator(GenesisConfig(seed=SEED)) as simulator:
        yield simulator
