from __future__ import annotations

from pathlib import Path

import pytest

from relayer.chains.cardano.scripts import Validators, load_validators
from tests.contracts.cardano.harness import ScriptRunner

_HERE = Path(__file__).parent
# Tests that start processes (opshin) or a ledger simulator with its Ogmios server.
_INTEGRATION = {"test_build.py", "test_simulator.py", "test_cross_chain.py"}
# The `ogmios` 1.4.3 client opens `websockets.sync.client.connect()` without a context
# manager, which websockets 17 deprecates (see tests/devnet/cardano/conftest.py).
_OGMIOS_CONNECT_WARNING = (
    "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent == _HERE and item.path.name in _INTEGRATION:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.filterwarnings(_OGMIOS_CONNECT_WARNING))


@pytest.fixture(scope="session")
def validators() -> Validators:
    return load_validators()


@pytest.fixture(scope="session")
def runner() -> ScriptRunner:
    return ScriptRunner()
