"""The resolver's loop with a fake relayer and fake wallets: what it hands a wallet for a
Cardano order's fill (the lineage of the maker's lock, from the relayer's fills), and
that a transaction that failed but was paid for is in its swap's record."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from fractions import Fraction

from relayer.chains.events import DstComplement, EscrowImmutables, EscrowRole
from relayer.orders.model import SignedOrder
from resolver.chains import DstTerms, EscrowHandle, FillPlan, LineageFill, Sent
from resolver.client import EscrowRef, FillState, OrderState, PublicAction, lineage_of
from resolver.engine import Resolver, ResolverTiming, paid_by
from resolver.errors import TX_REJECTED, WalletError
from resolver.pricing import Costs, Pricer, Rate
from tests.factories import NOW, make_validator, submission

DEADLINE = 10.0


def _ref(chain: str, tx_id: str, amount: int) -> EscrowRef:
    immutables = EscrowImmutables(order_hash="0x" + "00" * 32, hashlock="0x" + "00" * 32,
                                  maker="m", taker="t", token="lovelace", amount=amount,
                                  safety_deposit=0, timelocks=0)
    return EscrowRef(chain=chain, escrow=f"{tx_id}#0", immutables=immutables, tx_id=tx_id)


def _fill(status: str, tx_id: str, amount: int, chain: str = "cardano") -> FillState:
    return FillState(fill_id=f"{chain}:{tx_id}#0", idx=0, status=status, reasons=(),
                     src=_ref(chain, tx_id, amount))


def test_the_lineage_is_every_fill_of_the_makers_lock() -> None:
    fills = [_fill("settled", "aa" * 32, 10), _fill("foreign", "bb" * 32, 99),
             _fill("src_escrow_seen", "cc" * 32, 20), _fill("reverted", "dd" * 32, 30),
             _fill("refunded", "ee" * 32, 40), _fill("verified", "ff" * 32, 50, "ethereum"),
             FillState(fill_id="x", idx=1, status="settled", reasons=(), src=None)]
    assert lineage_of(fills, "cardano") == (
        LineageFill("aa" * 32, 10), LineageFill("cc" * 32, 20), LineageFill("ee" * 32, 40))


def test_paid_by_reads_an_included_failure() -> None:
    paid = WalletError("reverted", details={"tx_id": "0xab", "fee": 21, "block_time": 7})
    assert paid_by(paid) == Sent(tx_id="0xab", fee=21, block_time=7)
    assert paid_by(WalletError("refused", details={"tx_id": "0xab"})) is None
    assert paid_by(ValueError("x")) is None


@dataclass
class FakeRelayer:
    orders: list[OrderState]
    fills_of: dict[str, list[FillState]] = field(default_factory=dict)

    async def open_orders(self) -> list[OrderState]:
        return self.orders

    async def public_actions(self) -> list[PublicAction]:
        return []

    async def fills(self, order_hash: str) -> list[FillState]:
        return self.fills_of.get(order_hash, [])

    async def secrets(self, order_hash: str) -> dict[int, bytes]:
        return {}


@dataclass
class Clock:
    """Both fake chains' time."""

    now: int = NOW + 1


@dataclass
class FakeWallet:
    chain: str
    fail_fill: WalletError | None = None
    fail_dst: WalletError | None = None
    plans: list[FillPlan] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)
    address: str = "me"

    async def chain_time(self) -> int:
        return self.clock.now

    async def balance(self, asset: str, address: str | None = None) -> int:
        return 0

    async def fill(self, plan: FillPlan) -> EscrowHandle:
        self.plans.append(plan)
        if self.fail_fill is not None:
            raise self.fail_fill
        o = plan.order.order
        immutables = dataclasses.replace(_ref(self.chain, "src", plan.amount).immutables,
                                         timelocks=o.timelocks.pack(NOW))
        return EscrowHandle(chain=self.chain, role=EscrowRole.SRC, escrow="src#0",
                            immutables=immutables,
                            complement=DstComplement(maker=o.receiver, amount=plan.dst_amount,
                                                     token="lovelace", safety_deposit=0,
                                                     chain_id=0),
                            created=Sent("src", 100, NOW))

    async def create_dst(self, terms: DstTerms) -> EscrowHandle:
        assert self.fail_dst is not None
        self.clock.now = NOW + 10**6  # the source escrow's cancellation came meanwhile
        raise self.fail_dst

    async def withdraw(self, escrow: EscrowHandle, secret: bytes, *,
                       public: bool = False) -> Sent:
        raise NotImplementedError

    async def cancel(self, escrow: EscrowHandle, *, public: bool = False) -> Sent:
        return Sent("cancel", 3, self.clock.now)

    async def close(self) -> None:
        pass


def _ada_order(parts: int = 4) -> SignedOrder:
    return make_validator().accept(submission("ada_to_eth", parts=parts), now=NOW)


def _resolver(relayer: FakeRelayer, signed: SignedOrder, wallets: dict[str, FakeWallet]
              ) -> Resolver:
    o = signed.order
    rate = Rate(o.src_chain, o.maker_asset, o.dst_chain, o.taker_asset, Fraction(10**9))
    return Resolver(name="test", client=relayer, wallets=wallets,  # type: ignore[arg-type]
                    pricer=Pricer([rate], Costs(), parts_per_fill=1),
                    timing=ResolverTiming(poll_seconds=0.01, retry_seconds=0.01,
                                          fill_backoff_seconds=60))


async def _settled(resolver: Resolver) -> None:
    deadline = time.monotonic() + DEADLINE
    while not resolver.records or resolver.records[-1].outcome == "filling":
        assert time.monotonic() < deadline, "the swap never ended"
        await asyncio.sleep(0.01)


async def test_a_cardano_fill_carries_the_lineage_the_relayer_lists() -> None:
    signed = _ada_order()
    part = signed.order.making_amount // 4
    relayer = FakeRelayer([OrderState(signed, "partially_filled", part)],
                          {signed.order_hash: [_fill("settled", "aa" * 32, part),
                                               _fill("foreign", "bb" * 32, part)]})
    cardano = FakeWallet("cardano", fail_fill=WalletError("stop here", code=TX_REJECTED))
    resolver = _resolver(relayer, signed, {"cardano": cardano,
                                           "ethereum": FakeWallet("ethereum")})
    await resolver.step()
    await _settled(resolver)
    (plan,) = cardano.plans
    assert plan.lineage == (LineageFill("aa" * 32, part),)
    assert plan.amount == part and resolver.records[0].outcome == "failed"
    assert resolver.records[0].sent == []  # refused before anything was included


async def test_a_reverted_fill_keeps_its_fee() -> None:
    signed = make_validator().accept(submission("eth_to_ada"), now=NOW)
    relayer = FakeRelayer([OrderState(signed, "active", 0)])
    reverted = WalletError("createSrcEscrow reverted", code=TX_REJECTED,
                           details={"tx_id": "0xfill", "fee": 5_000, "block_time": NOW})
    ethereum = FakeWallet("ethereum", fail_fill=reverted)
    resolver = _resolver(relayer, signed, {"ethereum": ethereum,
                                           "cardano": FakeWallet("cardano")})
    await resolver.step()
    await _settled(resolver)
    (record,) = resolver.records
    assert record.outcome == "failed"
    assert record.sent == [("ethereum", Sent("0xfill", 5_000, NOW))]
    assert record.fees("ethereum") == 5_000 and ethereum.plans[0].lineage == ()


async def test_a_failed_destination_escrow_that_paid_is_recorded_on_its_chain() -> None:
    """A Cardano destination escrow whose scripts failed took the collateral: the swap's
    record has it on Cardano, beside the fill and the cancel on Ethereum."""
    signed = make_validator().accept(submission("eth_to_ada"), now=NOW)
    relayer = FakeRelayer([OrderState(signed, "active", 0)])
    collateral = WalletError("phase 2", code=TX_REJECTED,
                             details={"tx_id": "dst", "fee": 700, "block_time": NOW})
    clock = Clock()
    ethereum = FakeWallet("ethereum", clock=clock)
    cardano = FakeWallet("cardano", fail_dst=collateral, clock=clock)
    resolver = _resolver(relayer, signed, {"ethereum": ethereum, "cardano": cardano})
    await resolver.step()
    deadline = time.monotonic() + DEADLINE
    while resolver.records[0].outcome not in ("refunded", "failed"):
        assert time.monotonic() < deadline, resolver.records[0]
        await asyncio.sleep(0.01)
    (record,) = resolver.records
    assert record.outcome == "refunded"
    assert record.sent == [("ethereum", Sent("src", 100, NOW)),
                           ("cardano", Sent("dst", 700, NOW)),
                           ("ethereum", Sent("cancel", 3, NOW + 10**6))]
