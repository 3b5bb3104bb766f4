from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devnet.ethereum import EthereumDevnet
from tests.contracts.evm.chain import Chain

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here runs real processes (anvil, node solc): mark them integration."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def devnet() -> Iterator[EthereumDevnet]:
    with EthereumDevnet() as running:
        yield running


@pytest.fixture(scope="session")
def session_chain(devnet: EthereumDevnet) -> Chain:
    return Chain(devnet)


@pytest.fixture
def chain(session_chain: Chain) -> Iterator[Chain]:
    """The devnet, reverted to its state before the test when the test ends."""
    with session_chain.snapshot():
        yield session_chain
