"""Review finding (restart safety): the fills an order shows are not rebuilt from the log.

``FillLedger.shown`` (what ``GET /api/orders/{hash}`` lists as the order's fills, its
filled / executed amounts, and what the funds watcher subtracts from the maker's
obligation: ``Coordinator.filled_amount``) is set only by ``Coordinator._evaluate``. The
replay folds the fills' statuses in, but after a restart the tick skips orders whose
fills are all quiet (settled, refunded, foreign): such an order shows no fills, a filled
amount of 0 and its whole making amount as remaining, though its status says
``executed``. The same held before today's commits (``OrderEntry.fills`` was set in
``_evaluate`` only); 3c65df9 moved the state without rebuilding it.
"""

from __future__ import annotations

from pathlib import Path

from relayer.events.codec import EventCodec
from relayer.events.projection import Projector
from relayer.orders.book import OrderBook
from relayer.orders.events import ORDER_EVENTS
from relayer.orders.status import OrderStatus
from relayer.settlement.events import SETTLEMENT_EVENTS
from relayer.settlement.fills import FillStatus
from tests.settlement.harness import Harness


async def test_an_executed_order_shows_the_same_fills_after_a_restart(tmp_path: Path) -> None:
    h = Harness(tmp_path, custody=False)
    await h.open()
    try:
        await h.submit()
        src, dst = await h.lock_both()
        h.finalize()
        secret = h.secrets.secrets[0]
        await h.chain(h.withdrawn(dst, secret))
        await h.chain(h.withdrawn(src, secret))
        h.confirm()
        await h.coordinator.tick()
        (fill,) = h.coordinator.fills(h.order_hash)
        assert fill.status is FillStatus.SETTLED
        assert h.book.get(h.order_hash).status is OrderStatus.EXECUTED  # type: ignore[union-attr]
        before = (h.coordinator.shown_fills(h.order_hash)[0],
                  h.coordinator.filled_amount(h.order_hash))
        assert before[1] == h.signed.order.making_amount  # type: ignore[union-attr]

        # Restart: a fresh book and coordinator, the log replayed into both (as
        # ReplayedLog does); the escrow book stands for the replayed chain events.
        h.detach()
        h.book = OrderBook()
        again = h.new_coordinator()  # over the fresh book
        projector = Projector(EventCodec((*ORDER_EVENTS, *SETTLEMENT_EVENTS)), h.bus,
                              [h.book, *again.projections])
        await projector.replay(h.store, skip_unknown=True)
        again.attach()
        assert h.book.get(h.order_hash).status is OrderStatus.EXECUTED  # type: ignore[union-attr]
        await again.tick()
        after = (again.shown_fills(h.order_hash)[0], again.filled_amount(h.order_hash))
        assert after == before, (
            f"after a restart the executed order shows {after}, before it showed {before}")
    finally:
        await h.close()
