"""The fills' projection: statuses by stream version, and the fills an order shows."""

from __future__ import annotations

from relayer.settlement.events import FillStatusChanged
from relayer.settlement.fills import FillStatus
from relayer.settlement.ledger import FillLedger, OrderFill
from relayer.store.base import Record

ORDER = "0x" + "ab" * 32
FILL = "ethereum:0x" + "01" * 20


def changed(new: FillStatus, version: int) -> tuple[FillStatusChanged, Record]:
    event = FillStatusChanged(order_hash=ORDER, fill_id=FILL, secret_index=0, old="",
                              new=str(new), reasons=(), at=1)
    return event, Record(version, f"fill:{FILL}", version, "FillStatusChanged", b"")


def test_a_status_read_ahead_is_not_taken_back_by_an_older_record() -> None:
    ledger = FillLedger()
    ledger.project(*changed(FillStatus.SECRET_RELEASED, 3))
    ledger.project(*changed(FillStatus.FINAL, 2))  # the loop delivers it after a reload
    (fill,) = ledger.of_order(ORDER)
    assert fill.status is FillStatus.SECRET_RELEASED and fill.version == 3


def test_a_followed_status_change_moves_the_outcome_the_order_shows() -> None:
    ledger = FillLedger()
    ledger.project(*changed(FillStatus.SECRET_RELEASED, 1))
    ledger.show(ORDER, (OrderFill(FILL, 100, 90, 0, "open"),))
    shown, revision = ledger.shown_fills(ORDER)
    ledger.project(*changed(FillStatus.SETTLED, 2))  # another replica recorded it
    (after,), newer = ledger.shown_fills(ORDER)
    assert after.outcome == "settled" and newer == revision + 1
    ledger.show(ORDER, (after,))  # the same fills again: no new revision
    assert ledger.shown_fills(ORDER)[1] == newer
