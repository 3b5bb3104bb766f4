from __future__ import annotations

from pathlib import Path

import pytest

from relayer.store.sqlite import SQLiteEventStore
from tests.store.contract import StoreContract


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def fresh_store(self, tmp_path: Path) -> SQLiteEventStore:
        return SQLiteEventStore(tmp_path / "log.sqlite3")

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> SQLiteEventStore:
        return SQLiteEventStore(tmp_path / "log.sqlite3")
