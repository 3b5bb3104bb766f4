"""The coordinator over a real log: fills move with the chains; secrets go out once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from relayer.errors import ConflictError, ValidationError
from relayer.orders.status import OrderStatus
from relayer.settlement.events import PublicActionAvailable, SecretReleased, SecretShared
from relayer.settlement.fills import FillStatus
from relayer.settlement.policy import Withheld
from tests.settlement.harness import Harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path)
    await harness.open()
    await harness.submit()
    yield harness
    await harness.close()


@pytest.fixture
async def maker_mode(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path, custody=False)
    await harness.open()
    await harness.submit()
    yield harness
    await harness.close()


def released(h: Harness) -> list[SecretReleased]:
    return [e for e in h.published if isinstance(e, SecretReleased)]


async def stored_releases(h: Harness) -> int:
    return sum(1 for r in await h.store.read(limit=10_000) if r.type == "SecretReleased")


async def test_custody_releases_once_when_every_rule_holds(h: Harness) -> None:
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.SRC_SEEN
    assert Withheld.DST_ESCROW_MISSING in fill.reasons
    h.clock.advance(10)
    await h.chain(h.dst_escrow(src))
    assert fill.status is FillStatus.VERIFIED
    assert set(fill.reasons) >= {"SRC_NOT_FINAL", "DST_NOT_FINAL", "DST_FINALITY_LOCK"}
    h.confirm()
    await h.coordinator.tick()
    assert fill.status is FillStatus.VERIFIED and fill.reasons == ("DST_FINALITY_LOCK",)
    assert released(h) == []
    h.clock.advance(12)
    await h.coordinator.tick()
    assert fill.status is FillStatus.SECRET_RELEASED
    (event,) = released(h)
    assert event.source == "custody" and event.secret_index == 0
    (shared,) = [e for e in h.published if isinstance(e, SecretShared)]
    assert shared.secret == "0x" + h.secrets.secrets[0].hex()
    ((stored, secret),) = h.coordinator.released_secrets(h.order_hash)
    assert secret == h.secrets.secrets[0] and stored == event
    await h.coordinator.tick()
    assert len(released(h)) == 1 and await stored_releases(h) == 1
    log = (await h.store.read(limit=10_000))
    assert all(h.secrets.secrets[0].hex() not in r.data.decode() for r in log)


async def test_restart_rebuilds_and_never_releases_again(h: Harness) -> None:
    await h.lock_both()
    h.finalize()
    await h.coordinator.tick()
    assert len(released(h)) == 1
    h.detach()
    again = h.new_coordinator()
    assert await again.rebuild() > 0
    (fill,) = again.fills(h.order_hash)
    assert fill.status is FillStatus.SECRET_RELEASED
    await again.tick()
    assert len(released(h)) == 1 and await stored_releases(h) == 1
    assert again.stats.released == {}


async def test_a_second_coordinator_cannot_release_twice(h: Harness) -> None:
    await h.lock_both()
    h.finalize()
    rival = h.new_coordinator()
    await h.coordinator.tick()
    await rival.tick()
    assert len(released(h)) == 1 and await stored_releases(h) == 1


@pytest.mark.parametrize("change, reason", [
    ({"amount": -1}, "DST_AMOUNT_TOO_LOW"),
    ({"maker": "ab" * 28}, "DST_RECEIVER_MISMATCH"),
    ({"safety_deposit": -1}, "DST_SAFETY_DEPOSIT_TOO_LOW"),
    ({"taker": "cd" * 28}, "DST_TAKER_MISMATCH"),
    ({"late": True}, "DST_CANCELS_LATE"),
])
async def test_a_bad_destination_escrow_never_gets_the_secret(
        h: Harness, change: dict[str, object], reason: str) -> None:
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    h.clock.advance(10)
    good = h.dst_escrow(src)
    fields: dict[str, object] = {}
    if "amount" in change:
        fields["amount"] = good.immutables.amount - 1
    elif "safety_deposit" in change:
        fields["safety_deposit"] = good.immutables.safety_deposit - 1
    elif "late" in change:
        fields["timelocks"] = good.immutables.timelocks + (200 << (32 * 6))
    else:
        fields.update(change)
    await h.chain(h.dst_escrow(src, **fields))
    h.confirm(10)
    h.clock.advance(30)
    await h.coordinator.tick()
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.INVALID_ESCROW and reason in fill.reasons
    assert released(h) == []


async def test_wrong_hashlock_is_no_destination_at_all(h: Harness) -> None:
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    await h.chain(h.dst_escrow(src, hashlock="0x" + "77" * 32))
    h.confirm(10)
    h.clock.advance(30)
    await h.coordinator.tick()
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.SRC_SEEN and "DST_ESCROW_MISSING" in fill.reasons
    assert released(h) == []


async def test_rollback_of_the_destination_moves_the_fill_back(h: Harness) -> None:
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    dst = h.dst_escrow(src)
    await h.chain(dst)
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.VERIFIED
    # The order lists the fill as soon as its source escrow is seen (resolvers compute
    # the next fill's secret index from it), not once it is final.
    entry = h.book.get(h.order_hash)
    assert entry is not None
    shown, _ = h.coordinator.shown_fills(h.order_hash)
    assert [(f.making_amount, f.secret_index) for f in shown] == [
        (src.immutables.amount, 0)]
    assert shown[0].taking_amount == src.complement.amount > 0
    await h.chain(h.reverted(dst))
    assert fill.status is FillStatus.SRC_SEEN
    await h.chain(h.reverted(src))
    assert fill.status is FillStatus.REVERTED
    entry = h.book.get(h.order_hash)
    assert entry is not None and h.coordinator.filled_amount(h.order_hash) == 0
    h.confirm(10)
    h.clock.advance(30)
    await h.coordinator.tick()
    assert released(h) == []


async def test_maker_posts_the_secret_only_when_ready(maker_mode: Harness) -> None:
    h = maker_mode
    secret = h.secrets.secrets[0]
    with pytest.raises(ConflictError) as err:
        await h.coordinator.accept_secret(h.order_hash, 0, secret)
    assert err.value.code == "FILL_NOT_READY"
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    await h.chain(h.dst_escrow(src))
    with pytest.raises(ConflictError) as err:
        await h.coordinator.accept_secret(h.order_hash, 0, secret)
    assert "SRC_NOT_FINAL" in err.value.details["fills"][0]["reasons"]
    h.confirm()
    h.clock.advance(20)
    await h.coordinator.tick()
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.READY and released(h) == []
    with pytest.raises(ValidationError) as bad:
        await h.coordinator.accept_secret(h.order_hash, 0, bytes(32))
    assert bad.value.code == "SECRET_MISMATCH"
    with pytest.raises(ValidationError) as bad:
        await h.coordinator.accept_secret(h.order_hash, 1, secret)
    assert bad.value.code == "INVALID_SECRET_INDEX"
    event = await h.coordinator.accept_secret(h.order_hash, 0, secret)
    assert event.source == "maker" and fill.status is FillStatus.SECRET_RELEASED
    assert await h.coordinator.accept_secret(h.order_hash, 0, secret) == event
    assert len(released(h)) == 1


async def test_withdrawals_settle_and_a_chain_secret_is_recorded(maker_mode: Harness) -> None:
    h = maker_mode
    src, dst = await h.lock_both()
    h.finalize()
    secret = h.secrets.secrets[0]
    await h.chain(h.withdrawn(dst, secret))
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.DST_WITHDRAWN
    (event,) = released(h)
    assert event.source == "chain"
    await h.chain(h.withdrawn(src, secret))
    assert fill.status is FillStatus.SRC_WITHDRAWN
    h.confirm()
    await h.coordinator.tick()
    assert fill.status is FillStatus.SETTLED
    assert h.book.get(h.order_hash).status is OrderStatus.EXECUTED  # type: ignore[union-attr]


async def test_resolver_vanishes_public_cancel_then_refund(h: Harness) -> None:
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    h.confirm()
    (fill,) = h.coordinator.fills(h.order_hash)
    order = h.signed.order  # type: ignore[union-attr]
    h.clock.advance(order.timelocks.src_cancellation)
    await h.coordinator.tick()
    assert fill.status is FillStatus.CANCELLATION
    h.clock.advance(order.timelocks.src_public_cancellation - order.timelocks.src_cancellation)
    await h.coordinator.tick()
    assert fill.status is FillStatus.PUBLIC_CANCELLATION
    (action,) = [e for e in h.published if isinstance(e, PublicActionAvailable)]
    assert action.action == "public_cancel" and action.escrow == src.escrow
    assert [(a, s.escrow) for _, a, s in h.coordinator.public_actions()] == [
        ("public_cancel", src.escrow)]
    await h.chain(h.cancelled(src))
    assert fill.status is FillStatus.CANCELLATION
    h.confirm()
    await h.coordinator.tick()
    assert fill.status is FillStatus.REFUNDED
    assert released(h) == []


async def test_cancelled_order_withholds(h: Harness) -> None:
    h.clock.advance(30)
    src = h.src_escrow()
    await h.chain(src)
    await h.chain(h.dst_escrow(src))
    await h.desk.transition(h.order_hash, OrderStatus.CANCELLED, reason="maker_cancelled")
    h.confirm()
    h.clock.advance(20)
    await h.coordinator.tick()
    (fill,) = h.coordinator.fills(h.order_hash)
    assert fill.status is FillStatus.FINAL and fill.reasons == ("ORDER_CANCELLED",)
    assert released(h) == []


async def test_two_coordinators_converge_on_one_fill_history(h: Harness) -> None:
    rival = h.new_coordinator()
    detach_rival = rival.attach()
    await h.lock_both()
    h.finalize()
    await h.coordinator.tick()
    await rival.tick()
    (mine,), (theirs,) = h.coordinator.fills(h.order_hash), rival.fills(h.order_hash)
    assert (mine.status, mine.version) == (theirs.status, theirs.version)
    assert mine.status is FillStatus.SECRET_RELEASED
    history = await h.store.read_stream(f"fill:{mine.fill_id}")
    assert [r.version for r in history] == list(range(1, len(history) + 1))
    assert len(released(h)) == 1
    detach_rival()
