"""The desk asks the source chain's funds check before it writes anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from relayer.clock import FakeClock
from relayer.errors import ValidationError
from relayer.events.bus import EventBus
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.desk import OrderDesk
from relayer.orders.model import SignedOrder
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import NOW, make_settings, make_validator, submission


class MakerFunds:
    """A funds check whose answer the test sets (logic test: no chain involved)."""

    def __init__(self) -> None:
        self.missing: str | None = None
        self.seen: list[str] = []

    async def check(self, signed: SignedOrder) -> None:
        self.seen.append(signed.order_hash)
        if self.missing is not None:
            raise ValidationError("maker funds are short", code=self.missing)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteEventStore]:
    store = SQLiteEventStore(tmp_path / "events.db")
    await store.open()
    yield store
    await store.close()


def make_desk(store: SQLiteEventStore, funds: MakerFunds) -> OrderDesk:
    settings = make_settings()
    return OrderDesk(store=store, book=OrderBook(), bus=EventBus(),
                     validator=make_validator(settings),
                     chains=ChainRegistry.from_settings(settings.chains),
                     clock=FakeClock(NOW), funds={"ethereum": funds})


async def test_short_funds_refuse_the_order_and_store_nothing(
        store: SQLiteEventStore) -> None:
    funds = MakerFunds()
    funds.missing = "INSUFFICIENT_ALLOWANCE"
    desk = make_desk(store, funds)
    with pytest.raises(ValidationError) as err:
        await desk.submit(submission("eth_to_ada"))
    assert err.value.code == "INSUFFICIENT_ALLOWANCE"
    assert await store.read() == [] and len(desk.book) == 0
    assert len(funds.seen) == 1


async def test_funded_orders_pass_and_other_chains_are_not_asked(
        store: SQLiteEventStore) -> None:
    funds = MakerFunds()
    desk = make_desk(store, funds)
    entry = await desk.submit(submission("eth_to_ada"))
    assert funds.seen == [entry.order_hash]
    await desk.submit(submission("ada_to_eth"))
    assert funds.seen == [entry.order_hash]
    assert len(await store.read()) == 2
