"""Swap safety: a secret goes out only when every escrow it opens has the maker's payment.

The attacks of the swap-safety issue, each against the real coordinator over a real
log: a forged Cardano order lock, a second source escrow with the same hash (duplicate,
tiny-then-large in one index, another order of the same maker, an order the relayer
does not know), an overfill, a destination that declares no finality lock. Each also
shows the honest path still releases, so no check passes by never releasing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from relayer.chains.events import (
    DstComplement,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    LockOrigin,
)
from relayer.errors import ConflictError
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet, make_secrets
from relayer.orders.status import OrderStatus
from relayer.orders.timelocks import Timelocks
from relayer.orders.wire import CustodyWire
from relayer.settlement.coverage import match
from relayer.settlement.custody import seal_secret
from relayer.settlement.events import SecretReleased
from relayer.settlement.fills import FillStatus
from relayer.settlement.placement import lock_ref
from relayer.settlement.policy import Withheld
from tests.factories import EVM_OTHER_KEY, evm_address, submission
from tests.settlement.harness import Harness
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

FORGED_ROOT = "ff" * 32 + "#0"


class Desk:
    """Orders and escrows for several orders on one harness."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.secrets: dict[str, SecretSet] = {}
        self.count = 0

    async def order(self, direction: str = "eth_to_ada", *, parts: int = 1,
                    custody: bool = True, secrets: SecretSet | None = None,
                    salt: str = "42", **overrides: Any) -> SignedOrder:
        secrets = secrets or make_secrets(parts)
        wire = submission(direction, parts=parts, secrets=secrets, salt=salt, **overrides)
        if custody:
            key_id = self.h.keyring.active_key_id
            wire.custody = CustodyWire(key_id=key_id, sealed_secrets=[
                "0x" + seal_secret(key_id, s).hex() for s in secrets.secrets])
        entry = await self.h.desk.submit(wire)
        self.secrets[entry.order_hash] = secrets
        return entry.signed

    def src(self, signed: SignedOrder, *, amount: int | None = None, index: int = 0,
            root: str | None = None, depth: int = 0, filled_before: int = 0,
            maker: str | None = None) -> EscrowCreated:
        order = signed.order
        amount = order.making_amount if amount is None else amount
        at = int(self.h.clock.now())
        self.count += 1
        point = self.h.chains.point(order.src_chain, at)
        cardano = order.src_chain == "cardano"
        origin = None
        if cardano:
            registered = lock_ref(signed)
            assert registered is not None
            origin = LockOrigin(lock=f"{self.count:064x}#1", root=root or registered,
                                filled_before=filled_before, depth=depth)
        hashlock = "0x" + self.secrets[signed.order_hash].hashes[index].hex()
        return EscrowCreated(
            role=EscrowRole.SRC,
            escrow=f"{point.tx_id[2:]}#0" if cardano else f"0x{self.count:040x}",
            immutables=EscrowImmutables(
                order_hash=signed.order_hash, hashlock=hashlock, maker=maker or order.maker,
                taker=RESOLVER_ADA if cardano else RESOLVER_ETH, token=order.maker_asset,
                amount=amount, safety_deposit=order.src_safety_deposit,
                timelocks=order.timelocks.pack(at)),
            complement=DstComplement(
                maker=order.receiver, amount=self.required(signed, amount, at),
                token=order.taker_asset, safety_deposit=order.dst_safety_deposit,
                chain_id=1),
            point=point, origin=origin)

    def dst(self, signed: SignedOrder, src: EscrowCreated, **changes: Any) -> EscrowCreated:
        order = signed.order
        at = int(self.h.clock.now())
        self.count += 1
        cardano = order.dst_chain == "cardano"
        point = self.h.chains.point(order.dst_chain, at)
        assert src.complement is not None
        immutables = EscrowImmutables(
            order_hash=signed.order_hash, hashlock=src.immutables.hashlock,
            maker=order.receiver, taker=RESOLVER_ADA if cardano else RESOLVER_ETH,
            token=order.taker_asset, amount=src.complement.amount,
            safety_deposit=order.dst_safety_deposit, timelocks=order.timelocks.pack(at))
        return EscrowCreated(
            role=EscrowRole.DST,
            escrow=f"{point.tx_id[2:]}#0" if cardano else f"0x{self.count:040x}",
            immutables=replace(immutables, **changes), complement=None, point=point)

    @staticmethod
    def required(signed: SignedOrder, amount: int, at: int) -> int:
        from relayer.auction.curve import fill_taking_amount
        order = signed.order
        return fill_taking_amount(order.taking_amount, order.making_amount, amount,
                                  order.auction, at)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path)
    await harness.open()
    yield harness
    await harness.close()


def released(h: Harness) -> list[SecretReleased]:
    return [e for e in h.published if isinstance(e, SecretReleased)]


def fill_of(h: Harness, created: EscrowCreated) -> Any:
    fill_id = f"{created.point.chain}:{created.escrow}"
    (fill,) = [f for f in h.coordinator.all_fills() if f.fill_id == fill_id]
    return fill


async def settle_time(h: Harness) -> None:
    h.finalize()
    await h.coordinator.tick()


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
    assert entry is not None and [f.making_amount for f in entry.fills] == [200_000_000]
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
    assert entry is not None and entry.status is OrderStatus.ACTIVE and entry.fills == []


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
    assert entry is not None and entry.filled_making_amount == signed.order.making_amount


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
    assert entry.refunded_making_amount == signed.order.making_amount


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
    assert entry.status is OrderStatus.ACTIVE and entry.fills == []


def test_matching_gives_each_source_its_own_destination() -> None:
    assert match([["a"], ["a"]]) in (["a", None], [None, "a"])
    assert match([["a", "b"], ["a"]]) == ["b", "a"]
    assert match([["a"], ["b"], ["a", "b", "c"]]) == ["a", "b", "c"]
    assert match([[], ["x"]]) == [None, "x"]


# Found by an attacker's review of the rules above.


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
