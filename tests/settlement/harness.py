"""A coordinator over a real SQLite log, fed with chain events the test makes up.

Logic tests only: the chains are played by the test (events applied to the
escrow projection and published on the bus, as a monitor does after commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from relayer.auction.curve import fill_taking_amount
from relayer.chains.escrows import EscrowBook
from relayer.chains.events import (
    ChainEvent,
    ChainEventReverted,
    ChainPoint,
    DstComplement,
    EscrowCancelled,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
)
from relayer.clock import FakeClock
from relayer.events.bus import EventBus
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.desk import OrderDesk
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet, make_secrets
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import CustodyWire
from relayer.settlement.coordinator import Coordinator
from relayer.settlement.custody import CustodyKeyring, seal_secret
from relayer.settlement.parties import RegistryParties
from relayer.settlement.policy import PolicySettings
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import NOW, make_settings, submission
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

POLICY = PolicySettings(confirmations={"ethereum": 2, "cardano": 3}, safety_margin=60)
CUSTODY_KEY = bytes(range(32))


@dataclass
class Chains:
    heights: dict[str, int] = field(default_factory=lambda: {"ethereum": 100, "cardano": 10})
    tx: int = 0

    def point(self, chain: str, at: int) -> ChainPoint:
        self.tx += 1
        height = self.heights[chain] + 1
        self.heights[chain] = height
        return ChainPoint(chain=chain, height=height, slot=height,
                          block_id=f"0x{height:064x}", timestamp=at,
                          tx_id=f"0x{self.tx:064x}", index=0)

    def tip(self, chain: str) -> int | None:
        return self.heights[chain]


class Harness:
    def __init__(self, tmp: Path, *, custody: bool = True, parts: int = 1,
                 resolvers: Mapping[str, Mapping[str, str]] | None = None,
                 synchronous: str = "FULL") -> None:
        """``resolvers`` replaces the one registered resolver pair (``r1``);
        ``synchronous`` is the SQLite setting (the adversarial model, with thousands
        of stores, turns fsync off: durability is not what it tests)."""
        self.clock = FakeClock(NOW)
        self.store = SQLiteEventStore(tmp / "events.db", synchronous=synchronous)
        self.bus = EventBus()
        self.book = OrderBook()
        self.escrows = EscrowBook()
        self.chains = Chains()
        self.keyring = CustodyKeyring([CUSTODY_KEY])
        settings = make_settings()
        registry = ChainRegistry.from_settings(settings.chains)
        self.validator = OrderValidator.from_settings(settings, registry, self.keyring)
        self.desk = OrderDesk(store=self.store, book=self.book, bus=self.bus,
                              validator=self.validator, chains=registry, clock=self.clock)
        self.parties = RegistryParties(registry, resolvers or {
            "r1": {"ethereum": RESOLVER_ETH, "cardano": RESOLVER_ADA}})
        self.custody_mode = custody
        self.parts = parts
        self.published: list[Any] = []
        self.bus.subscribe(None, self.published.append)
        self.coordinator = self.new_coordinator()
        self.detach = self.coordinator.attach()
        self.secrets: SecretSet = make_secrets(parts)
        self.signed: SignedOrder | None = None

    def new_coordinator(self) -> Coordinator:
        return Coordinator(store=self.store, bus=self.bus, book=self.book,
                           escrows=self.escrows, custody=self.keyring, parties=self.parties,
                           policy=POLICY, tip_height=self.chains.tip, clock=self.clock,
                           transition_order=self.desk.transition)

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        await self.bus.drain()
        await self.store.close()

    async def submit(self) -> SignedOrder:
        wire = submission("eth_to_ada", parts=self.parts, secrets=self.secrets)
        if self.custody_mode:
            key_id = self.keyring.active_key_id
            wire.custody = CustodyWire(key_id=key_id, sealed_secrets=[
                "0x" + seal_secret(key_id, s).hex() for s in self.secrets.secrets])
        entry = await self.desk.submit(wire)
        self.signed = entry.signed
        return entry.signed

    @property
    def order_hash(self) -> str:
        assert self.signed is not None
        return self.signed.order_hash

    def required(self, amount: int, at: int) -> int:
        assert self.signed is not None
        order = self.signed.order
        return fill_taking_amount(order.taking_amount, order.making_amount, amount,
                                  order.auction, at)

    def src_escrow(self, *, amount: int | None = None, index: int = 0,
                   escrow: str = "0x" + "e5" * 20) -> EscrowCreated:
        assert self.signed is not None
        order = self.signed.order
        amount = order.making_amount if amount is None else amount
        at = int(self.clock.now())
        point = self.chains.point("ethereum", at)
        return EscrowCreated(
            role=EscrowRole.SRC, escrow=escrow,
            immutables=EscrowImmutables(
                order_hash=self.order_hash, hashlock="0x" + self.secrets.hashes[index].hex(),
                maker=order.maker, taker=RESOLVER_ETH, token=order.maker_asset,
                amount=amount, safety_deposit=order.src_safety_deposit,
                timelocks=order.timelocks.pack(at)),
            complement=DstComplement(maker=order.receiver, amount=self.required(amount, at),
                                     token=order.taker_asset,
                                     safety_deposit=order.dst_safety_deposit,
                                     chain_id=(1 << 64) + 42),
            point=point)

    def dst_escrow(self, src: EscrowCreated, *, escrow: str | None = None,
                   **changes: Any) -> EscrowCreated:
        assert self.signed is not None
        order = self.signed.order
        at = int(self.clock.now())
        immutables = EscrowImmutables(
            order_hash=self.order_hash, hashlock=src.immutables.hashlock,
            maker=order.receiver, taker=RESOLVER_ADA, token=order.taker_asset,
            amount=src.complement.amount if src.complement else 0,
            safety_deposit=order.dst_safety_deposit, timelocks=order.timelocks.pack(at))
        return EscrowCreated(role=EscrowRole.DST,
                             escrow=escrow or f"{self.chains.tx + 1:064x}#0",
                             immutables=replace(immutables, **changes), complement=None,
                             point=self.chains.point("cardano", at))

    def withdrawn(self, created: EscrowCreated, secret: bytes) -> EscrowWithdrawn:
        return EscrowWithdrawn(escrow=created.escrow, secret="0x" + secret.hex(),
                               point=self.chains.point(created.point.chain,
                                                       int(self.clock.now())))

    def cancelled(self, created: EscrowCreated) -> EscrowCancelled:
        return EscrowCancelled(escrow=created.escrow, point=self.chains.point(
            created.point.chain, int(self.clock.now())))

    @staticmethod
    def reverted(event: EscrowCreated | EscrowWithdrawn | EscrowCancelled
                 ) -> ChainEventReverted:
        return ChainEventReverted(event_type=type(event).__name__, escrow=event.escrow,
                                  point=event.point)

    async def chain(self, event: ChainEvent) -> None:
        """What a monitor does after committing: fold, publish; then let handlers run."""
        self.escrows.apply(event)
        self.bus.publish(event)
        await self.bus.drain()

    async def lock_both(self) -> tuple[EscrowCreated, EscrowCreated]:
        """A resolver's matching source and destination escrows, 30 s into the auction."""
        self.clock.advance(30)
        src = self.src_escrow()
        await self.chain(src)
        dst = self.dst_escrow(src)
        await self.chain(dst)
        return src, dst

    def finalize(self) -> None:
        """Both escrows confirmed and the destination's finality lock begun."""
        self.confirm()
        self.clock.advance(20)

    def confirm(self, blocks: int = 3) -> None:
        for chain in self.chains.heights:
            self.chains.heights[chain] += blocks
