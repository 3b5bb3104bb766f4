"""Swap safety: a secret goes out only when every escrow it opens has the maker's payment.

The attacks of the swap-safety issue, each against the real coordinator over a real
log: a forged Cardano order lock, a second source escrow with the same hash (duplicate,
tiny-then-large in one index, another order of the same maker, an order the relayer
does not know), an overfill, a destination that declares no finality lock. Each also
shows the honest path still releases, so no check passes by never releasing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from relayer.errors import ConflictError
from relayer.orders.signer import make_secrets
from relayer.orders.status import OrderStatus
from relayer.orders.timelocks import Timelocks
from relayer.settlement.coverage import match
from relayer.settlement.fills import FillStatus
from relayer.settlement.policy import Withheld
from tests.factories import EVM_OTHER_KEY, evm_address
from tests.settlement.harness import Harness
from tests.settlement.safety_kit import FORGED_ROOT, Desk, fill_of, released, settle_time


async def test_a_forged_cardano_lock_never_opens_the_makers_escrow(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order("ada_to_eth")
    h.clock.advance(30)
    forged = desk.src(signed, amount=3_000_000, root=FORGED_ROOT)
    await h.chain(forged)
    await h.chain(desk.dst(signed, forged))
    real = desk.src(signed)
    await h.chain(real)
    await settle_time(h)
    assert released(h) == []
    assert fill_of(h, forged).status is FillStatus.FOREIGN
    assert fill_of(h, forged).reasons == (Withheld.SRC_FOREIGN_LOCK,)
    # The attacker's small destination is the only one with this hash: far too low.
    assert fill_of(h, real).reasons == (Withheld.DST_AMOUNT_TOO_LOW,)
    entry = h.book.get(signed.order_hash)
    assert entry is not None and [f.making_amount for f in h.coordinator.shown_fills(
        signed.order_hash)[0]] == [200_000_000]
    # The maker's own fill, paid in full, still settles.
    await h.chain(desk.dst(signed, real))
    await settle_time(h)
    (event,) = released(h)
    assert event.fill_id == fill_of(h, real).fill_id


async def test_a_cardano_escrow_without_lineage_is_foreign(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order("ada_to_eth")
    h.clock.advance(30)
    bare = replace(desk.src(signed), origin=None)
    await h.chain(bare)
    await h.chain(desk.dst(signed, bare))
    await settle_time(h)
    assert released(h) == []
    assert fill_of(h, bare).reasons == (Withheld.SRC_LINEAGE_UNKNOWN,)


async def test_a_foreign_fill_never_moves_the_order(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order("ada_to_eth")
    h.clock.advance(30)
    forged = desk.src(signed, root=FORGED_ROOT)
    await h.chain(forged)
    await h.chain(desk.dst(signed, forged))
    await settle_time(h)
    entry = h.book.get(signed.order_hash)
    assert entry is not None and entry.status is OrderStatus.ACTIVE
    assert h.coordinator.shown_fills(signed.order_hash)[0] == ()


async def test_a_second_whole_escrow_with_the_same_hash_holds_the_secret(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    paid = desk.src(signed)
    await h.chain(paid)
    await h.chain(desk.dst(signed, paid))
    unpaid = desk.src(signed)
    await h.chain(unpaid)
    await settle_time(h)
    assert released(h) == []
    assert Withheld.SHARED_HASHLOCK_UNCOVERED in fill_of(h, paid).reasons
    assert Withheld.SRC_DUPLICATE_FILL in fill_of(h, unpaid).reasons
    # Once the unpaid escrow gives the maker its funds back, the secret may go.
    await h.chain(h.cancelled(unpaid))
    await h.coordinator.tick()
    assert len(released(h)) == 1


async def test_a_one_unit_fill_of_a_single_secret_order_is_invalid(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    tiny = desk.src(signed, amount=1)
    await h.chain(tiny)
    await h.chain(desk.dst(signed, tiny))
    whole = desk.src(signed)
    await h.chain(whole)
    await settle_time(h)
    assert released(h) == []
    assert Withheld.SRC_NOT_WHOLE_FILL in fill_of(h, tiny).reasons
    assert Withheld.SRC_DUPLICATE_FILL in fill_of(h, whole).reasons


async def test_a_tiny_and_a_large_fill_cannot_share_an_index(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order(parts=4)
    h.clock.advance(30)
    tiny = desk.src(signed, amount=1, index=0)
    await h.chain(tiny)
    await h.chain(desk.dst(signed, tiny))
    large = desk.src(signed, amount=20_000_000, index=0)
    await h.chain(large)
    await settle_time(h)
    assert released(h) == []
    assert fill_of(h, large).reasons[:1] == (Withheld.SRC_SECRET_INDEX_REUSED,)
    assert Withheld.SHARED_HASHLOCK_UNCOVERED in fill_of(h, tiny).reasons


async def test_an_overfill_is_invalid_and_never_takes_its_hashlocks_index(
        h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order(parts=2)
    h.clock.advance(30)
    whole = desk.src(signed, index=2)
    await h.chain(whole)
    over = desk.src(signed, amount=1, index=1)
    await h.chain(over)
    await h.chain(desk.dst(signed, over))
    await settle_time(h)
    assert released(h) == []
    fill = fill_of(h, over)
    assert fill.status is FillStatus.INVALID_ESCROW
    assert Withheld.SRC_OVERFILL in fill.reasons
    entry = h.book.get(signed.order_hash)
    assert entry is not None
    assert h.coordinator.filled_amount(signed.order_hash) == signed.order.making_amount


async def test_the_finality_lock_is_the_orders_not_the_escrows(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    offsets = replace(signed.order.timelocks, dst_withdrawal=0)
    dst = desk.dst(signed, src, timelocks=offsets.pack(int(h.clock.now())))
    await h.chain(dst)
    h.confirm()
    await h.coordinator.tick()
    assert released(h) == []
    assert fill_of(h, src).reasons == (Withheld.DST_FINALITY_LOCK,)
    assert Timelocks.unpack(dst.immutables.timelocks)[0].dst_withdrawal == 0
    h.clock.advance(signed.order.timelocks.dst_withdrawal)
    await h.coordinator.tick()
    assert len(released(h)) == 1


async def test_two_orders_of_one_maker_sharing_a_hash_need_two_payments(
        h: Harness) -> None:
    desk = Desk(h)
    secrets = make_secrets(1)
    first = await desk.order(secrets=secrets, custody=False)
    second = await desk.order(secrets=secrets, salt="43", custody=False)
    h.clock.advance(30)
    paid = desk.src(first)
    await h.chain(paid)
    await h.chain(desk.dst(first, paid))
    unpaid = desk.src(second)
    await h.chain(unpaid)
    await settle_time(h)
    assert Withheld.SHARED_HASHLOCK_UNCOVERED in fill_of(h, paid).reasons
    with pytest.raises(ConflictError) as refused:
        await h.coordinator.accept_secret(first.order_hash, 0, secrets.secrets[0])
    assert refused.value.code == "FILL_NOT_READY"
    await h.chain(desk.dst(second, unpaid))
    await settle_time(h)
    event = await h.coordinator.accept_secret(first.order_hash, 0, secrets.secrets[0])
    assert event.source == "maker"


async def test_another_makers_escrow_with_the_same_hash_does_not_hold_it(
        h: Harness) -> None:
    desk = Desk(h)
    secrets = make_secrets(1)
    mine = await desk.order(secrets=secrets)
    theirs = await desk.order(secrets=secrets, salt="43", evm_key=EVM_OTHER_KEY,
                              maker=evm_address(EVM_OTHER_KEY))
    h.clock.advance(30)
    src = desk.src(mine)
    await h.chain(src)
    await h.chain(desk.dst(mine, src))
    await h.chain(desk.src(theirs))
    await settle_time(h)
    assert [e.order_hash for e in released(h)] == [mine.order_hash]


async def test_an_unknown_order_of_the_same_maker_on_the_factory_holds_it(
        h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    await h.chain(desk.dst(signed, src))
    stranger = desk.src(signed)
    stranger = replace(stranger, immutables=replace(stranger.immutables,
                                                    order_hash="0x" + "77" * 32))
    await h.chain(stranger)
    await settle_time(h)
    assert released(h) == []
    assert Withheld.SHARED_HASHLOCK_UNCOVERED in fill_of(h, src).reasons
    other_maker = replace(stranger, escrow="0x" + "88" * 20, immutables=replace(
        stranger.immutables, maker=evm_address(EVM_OTHER_KEY)))
    await h.chain(h.cancelled(stranger))
    await h.chain(other_maker)
    await h.coordinator.tick()
    assert len(released(h)) == 1


async def test_an_order_whose_fills_were_all_refunded_says_so(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    h.confirm()
    await h.coordinator.tick()
    entry = h.book.get(signed.order_hash)
    assert entry is not None and entry.status is OrderStatus.FILLED
    h.clock.advance(signed.order.timelocks.src_cancellation)
    await h.chain(h.cancelled(src))
    h.confirm()
    await h.coordinator.tick()
    assert entry.status is OrderStatus.REFUNDED
    (shown,), _ = h.coordinator.shown_fills(signed.order_hash)
    assert shown.outcome == "refunded" and shown.making_amount == signed.order.making_amount


async def test_a_reverted_fill_reopens_the_order(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    h.confirm()
    await h.coordinator.tick()
    entry = h.book.get(signed.order_hash)
    assert entry is not None and entry.status is OrderStatus.FILLED
    await h.chain(h.reverted(src))
    assert entry.status is OrderStatus.ACTIVE
    assert h.coordinator.shown_fills(signed.order_hash)[0] == ()


def test_matching_gives_each_source_its_own_destination() -> None:
    assert match([["a"], ["a"]]) in (["a", None], [None, "a"])
    assert match([["a", "b"], ["a"]]) == ["b", "a"]
    assert match([["a"], ["b"], ["a", "b", "c"]]) == ["a", "b", "c"]
    assert match([[], ["x"]]) == [None, "x"]


# Found by an attacker's review of the rules above.
