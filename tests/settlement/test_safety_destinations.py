"""Swap safety, the destination side: a destination escrow the maker could never be paid
from (no public withdrawal window, rescued or soon rescuable, another stake part), and
replicas or coordinators that run behind the log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from relayer.errors import ConflictError
from relayer.orders.signer import make_secrets
from relayer.settlement.fills import FillStatus
from relayer.settlement.policy import Withheld
from tests.settlement.harness import Harness
from tests.settlement.safety_kit import Desk, fill_of, released, settle_time


async def test_a_destination_without_a_public_withdraw_window_is_refused(h: Harness) -> None:
    """After a release only the destination's public window lets anyone but the resolver
    pay the maker: one that opens as the escrow cancels would leave the maker unpaid."""
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    order = signed.order.timelocks
    closed = replace(order, dst_public_withdrawal=order.dst_cancellation)
    late = replace(order, dst_public_withdrawal=order.dst_public_withdrawal + 1)
    for offsets in (closed, late):
        dst = desk.dst(signed, src, timelocks=offsets.pack(int(h.clock.now())))
        await h.chain(dst)
        await settle_time(h)
        assert released(h) == []
        assert Withheld.DST_PUBLIC_WITHDRAWAL_LATE in fill_of(h, src).reasons
        await h.chain(h.reverted(dst))


async def test_a_rescued_destination_pays_nobody(h: Harness) -> None:
    from relayer.chains.events import FundsRescued
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    dst = desk.dst(signed, src)
    await h.chain(dst)
    point = h.chains.point(dst.point.chain, int(h.clock.now()))
    await h.chain(FundsRescued(escrow=dst.escrow, token=dst.immutables.token,
                               amount=dst.immutables.amount, point=point))
    await settle_time(h)
    assert released(h) == []
    assert Withheld.DST_ESCROW_MISSING in fill_of(h, src).reasons


async def test_the_secret_waits_when_the_destination_can_soon_be_rescued(
        tmp_path: Path) -> None:
    from relayer.settlement.policy import PolicySettings
    from tests.settlement import harness as module
    rescue = 120
    policy = PolicySettings(confirmations={"ethereum": 2, "cardano": 3}, safety_margin=60,
                            dst_rescue_delays={"cardano": rescue})
    original, module.POLICY = module.POLICY, policy
    try:
        h = Harness(tmp_path)
    finally:
        module.POLICY = original
    await h.open()
    try:
        desk = Desk(h)
        signed = await desk.order()
        h.clock.advance(30)
        src = desk.src(signed)
        await h.chain(src)
        await h.chain(desk.dst(signed, src))
        h.confirm()
        h.clock.advance(rescue - 60)
        await h.coordinator.tick()
        assert released(h) == []
        assert Withheld.DST_RESCUE_TOO_CLOSE in fill_of(h, src).reasons
    finally:
        await h.close()


async def test_a_payment_to_the_receivers_key_with_another_stake_part_is_refused(
        h: Harness) -> None:
    from pycardano import Address, Network, PaymentSigningKey
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    receiver = Address.from_primitive(signed.order.receiver)
    stake = PaymentSigningKey(b"\x66" * 32).to_verification_key().hash()
    other = str(Address(receiver.payment_part, stake, network=Network.TESTNET))
    await h.chain(desk.dst(signed, src, maker=other))
    await settle_time(h)
    assert released(h) == []
    assert Withheld.DST_RECEIVER_MISMATCH in fill_of(h, src).reasons


async def test_a_replica_behind_the_log_never_accepts_a_secret_on_a_stale_ready(
        tmp_path: Path) -> None:
    """Maker mode, two orders of one maker sharing a hash. The leader recorded the first
    fill ready; then the second order is filled with no destination. A replica whose
    fill versions lag must judge afresh, not adopt the log's stale ready."""
    h = Harness(tmp_path, custody=False)
    await h.open()
    try:
        desk = Desk(h)
        secrets = make_secrets(1)
        first = await desk.order(secrets=secrets, custody=False)
        second = await desk.order(secrets=secrets, salt="43", custody=False)
        replica = h.new_coordinator()
        h.clock.advance(30)
        paid = desk.src(first)
        await h.chain(paid)
        await h.chain(desk.dst(first, paid))
        await settle_time(h)
        assert fill_of(h, paid).status is FillStatus.READY
        await h.chain(desk.src(second))
        h.confirm()
        with pytest.raises(ConflictError) as refused:
            await replica.accept_secret(first.order_hash, 0, secrets.secrets[0])
        assert refused.value.code == "FILL_NOT_READY"
        assert released(h) == []
    finally:
        await h.close()


# Found by the adversarial model (tests/settlement/test_adversarial.py).


async def test_a_settled_fill_stays_settled_when_the_tip_steps_back(h: Harness) -> None:
    desk = Desk(h)
    signed = await desk.order()
    h.clock.advance(30)
    src = desk.src(signed)
    await h.chain(src)
    dst = desk.dst(signed, src)
    await h.chain(dst)
    await settle_time(h)
    (event,) = released(h)
    secret = desk.secrets[signed.order_hash].secrets[0]
    await h.chain(h.withdrawn(dst, secret))
    await h.chain(h.withdrawn(src, secret))
    h.confirm()
    await h.coordinator.tick()
    assert fill_of(h, src).status is FillStatus.SETTLED
    h.chains.heights["ethereum"] -= 2
    await h.coordinator.tick()
    await h.coordinator.evaluate(signed.order_hash)
    assert fill_of(h, src).status is FillStatus.SETTLED


async def test_a_second_coordinator_learns_a_release_it_did_not_make(tmp_path: Path) -> None:
    h = Harness(tmp_path, custody=False)
    await h.open()
    try:
        desk = Desk(h)
        signed = await desk.order(custody=False, parts=2)
        second = h.new_coordinator()
        h.clock.advance(30)
        src = desk.src(signed, index=2)
        await h.chain(src)
        await h.chain(desk.dst(signed, src))
        await settle_time(h)
        secret = desk.secrets[signed.order_hash].secrets[2]
        await h.coordinator.accept_secret(signed.order_hash, 2, secret)
        await second.tick()
        (fill,) = second.fills(signed.order_hash)
        assert fill.status is FillStatus.SECRET_RELEASED
        event = await second.accept_secret(signed.order_hash, 2, secret)
        assert event.source == "maker" and len(released(h)) == 1
    finally:
        await h.close()
