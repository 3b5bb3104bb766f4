from __future__ import annotations

from collections.abc import Iterator

import pytest

from relayer.devnet.ethereum import EthereumDevnet
from tests.contracts.evm.chain import Chain


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
