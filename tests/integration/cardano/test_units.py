"""Pure parts of the monitor: cursor spacing, timelock conversion, slot clock, state undo."""

from __future__ import annotations

import pytest

from relayer.chains.cardano.checkpoints import DENSE, UNKNOWN_HEIGHT, BlockPoint, Cursor, keeps
from relayer.chains.cardano.decode import pack_timelocks
from relayer.chains.cardano.node import Point
from relayer.chains.cardano.slots import SlotClock
from relayer.errors import ChainError
from relayer.orders.timelocks import Stage, Timelocks


def _cursor(blocks: int) -> Cursor:
    cursor = Cursor()
    for height in range(1, blocks + 1):
        cursor.advance(BlockPoint(slot=height * 2, id=f"{height:064x}", height=height))
        cursor.thin()
    return cursor


def test_cursor_keeps_few_points_dense_at_the_tip_and_spaced_deeper() -> None:
    cursor = _cursor(20_000)
    heights = [p.height for p in cursor.points]
    assert len(heights) < 16 * 12
    assert heights[-DENSE:] == list(range(20_000 - DENSE + 1, 20_001))
    # For a fork at any depth, a kept point lies at or below it and not far below:
    # a resume re-reads at most about as many blocks again as were rolled back.
    for depth in range(1, 19_000, 7):
        fork = 20_000 - depth
        below = max((h for h in heights if h <= fork), default=0)  # 0: the origin
        assert fork - below <= max(depth, DENSE)
    offered = cursor.intersections()
    assert offered[0] == Point(40_000, f"{20_000:064x}") and offered[-1] is None


def test_thinning_never_needs_a_dropped_point_back() -> None:
    kept = {h for h in range(1, 5_000) if keeps(5_000, h)}
    later = {h for h in range(1, 5_000) if keeps(9_000, h)}
    assert later <= kept


def test_cursor_round_trips_and_rolls_back() -> None:
    cursor = _cursor(100)
    cursor.stream_version = 7
    again = Cursor.decode(cursor.encode(), checkpoint_version=3)
    assert again.points == cursor.points and again.stream_version == 7
    assert again.checkpoint_version == 3

    # Back to a point the cursor kept, then to one it had thinned out (height unknown
    # until the next block).
    again.roll_back(Point(180, f"{90:064x}"))
    assert again.tip == BlockPoint(180, f"{90:064x}", 90)
    thinned = next(h for h in range(1, 80) if not keeps(100, h))
    again.roll_back(Point(thinned * 2, "ab" * 32))
    assert again.tip == BlockPoint(thinned * 2, "ab" * 32, UNKNOWN_HEIGHT)
    again.advance(BlockPoint(thinned * 2 + 5, "cd" * 32, thinned + 1))
    assert again.points[-2] == BlockPoint(thinned * 2, "ab" * 32, thinned)
    again.roll_back(None)
    assert again.points == [] and again.intersections() == [None]


def test_timelocks_round_toward_the_makers_safety() -> None:
    deployed = 1_700_000_000
    base = deployed * 1000
    packed = pack_timelocks({
        Stage.DST_WITHDRAWAL: base + 10_001,          # 10.001 s -> 11 (never earlier)
        Stage.DST_PUBLIC_WITHDRAWAL: base + 100_000,  # exact
        Stage.DST_CANCELLATION: base + 500_999,       # 500.999 s -> 500 (never later)
    }, deployed)
    offsets, deployed_at = Timelocks.unpack(packed)
    assert deployed_at == deployed
    assert (offsets.dst_withdrawal, offsets.dst_public_withdrawal,
            offsets.dst_cancellation) == (11, 100, 500)
    assert offsets.src_withdrawal == offsets.src_cancellation == 0

    clamped, _ = Timelocks.unpack(pack_timelocks({
        Stage.SRC_WITHDRAWAL: base - 5_000,
        Stage.SRC_CANCELLATION: base + (1 << 40) * 1000,
    }, deployed))
    assert clamped.src_withdrawal == 0 and clamped.src_cancellation == (1 << 32) - 1


def test_slot_clock_follows_each_eras_slot_length() -> None:
    summaries = [
        {"start": {"time": {"seconds": 0}, "slot": 0, "epoch": 0},
         "end": {"time": {"seconds": 4_000}, "slot": 200, "epoch": 1},
         "parameters": {"epochLength": 200, "slotLength": {"milliseconds": 20_000},
                        "safeZone": 10}},
        {"start": {"time": {"seconds": 4_000}, "slot": 200, "epoch": 1},
         "end": {"time": {"seconds": 8_000}, "slot": 4_200, "epoch": 2},
         "parameters": {"epochLength": 4_000, "slotLength": {"milliseconds": 1_000},
                        "safeZone": 10}},
    ]
    clock = SlotClock.from_ogmios("2022-10-25T00:00:00Z", summaries)
    start = 1_666_656_000_000
    assert clock.posix_ms(0) == start
    assert clock.posix_ms(199) == start + 199 * 20_000
    assert clock.posix_ms(200) == start + 4_000_000
    assert clock.posix_ms(250) == start + 4_050_000
    assert clock.posix_ms(10_000) == start + 4_000_000 + 9_800 * 1_000  # past the horizon
    assert clock.posix_seconds(250) == (start + 4_050_000) // 1000


@pytest.mark.parametrize("bad", ["not a time", ""])
def test_slot_clock_refuses_nonsense(bad: str) -> None:
    with pytest.raises(ChainError):
        SlotClock.from_ogmios(bad, [])
