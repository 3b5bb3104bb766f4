"""Markers by file only: each wallet's test module keeps its own fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
INTEGRATION = {
    "test_ethereum_wallet.py",  # anvil
    "test_cardano_wallet.py",  # the Cardano devnet
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The wallet tests run real chains: mark them integration."""
    for item in items:
        if Path(str(item.path)).parent == HERE and item.path.name in INTEGRATION:
            item.add_marker(pytest.mark.integration)
