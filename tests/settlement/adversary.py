"""An adversary that plays both chains against the real settlement coordinator; the
oracle of ``tests/settlement/oracle.py`` judges every secret the relayer lets out.

The world runs the real coordinator, order desk and SQLite log of
``tests/settlement/harness.py``; only the chains and the clock are played here.
Every chain event goes through ``World.deliver``: the world folds it into its
own record of what the chains show, then hands it to the relayer as a monitor
would. Heights follow a small model: an event lands in a new block, in the tip
block, or late in an older one; the tip the relayer reads can lag or roll back;
a block may leave the chain (``ChainEventReverted``) only while it was never
buried as deep as the configured confirmation depth. A reorg deeper than that
is outside every guarantee the relayer gives, and is never played. The pieces it
plays with (resolvers, orders, escrows) are in ``tests/settlement/pieces.py``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Any

from relayer.auction.curve import taking_amount
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
    LockOrigin,
)
from relayer.settlement.events import SecretReleased
from relayer.signing.keccak import keccak256
from tests.factories import NOW
from tests.settlement.harness import POLICY, Harness
from tests.settlement.oracle import CRASH, authentic, index_for, judge, maker_of, need
from tests.settlement.pieces import (
    DST_CANCELLATION,
    DST_WITHDRAWAL,
    OTHER_TOKEN,
    RESOLVERS,
    ROGUE,
    SRC_CANCELLATION,
    STRANGER,
    TAKERS,
    Escrow,
    Lot,
    OrderPlan,
    order_wire,
    party,
    secrets_for,
    stage_at,
)

_BASE = {"ethereum": 100, "cardano": 10}
"""The harness's first heights: no event of this model lands at or below them."""


@dataclass
class World:
    h: Harness
    custody: bool
    lots: list[Lot] = field(default_factory=list)
    escrows: dict[tuple[str, str], Escrow] = field(default_factory=dict)
    released: set[tuple[str, int]] = field(default_factory=set)
    """``(order hash, index)`` of every release published, from any coordinator."""
    public: set[str] = field(default_factory=set)
    """Secret hashes whose secrets are out: only these can appear in a withdrawal."""
    violations: list[tuple[str, str]] = field(default_factory=list)
    releases: int = 0
    """Secrets the relayer let out (custody or maker); not ones it saw on chain."""
    hwm: dict[str, int] = field(default_factory=lambda: dict(_BASE))
    """The highest tip each chain ever showed: what decides whether a block was final."""
    top: dict[str, int] = field(default_factory=lambda: dict(_BASE))
    block_ts: dict[str, dict[int, int]] = field(
        default_factory=lambda: {c: {h: NOW} for c, h in _BASE.items()})
    forks: int = 0
    serial: int = 0

    def __post_init__(self) -> None:
        self.h.bus.subscribe(SecretReleased, self._on_release)
        self.h.bus.on_handler_error = self._on_handler_error

    def _on_release(self, event: SecretReleased) -> None:
        self.violations.extend(judge(self, event))
        self.released.add((event.order_hash.lower(), event.secret_index))
        self.public.add(event.secret_hash.lower())
        self.releases += event.source != "chain"

    def _on_handler_error(self, handler: str) -> None:
        self.violations.append((CRASH, f"{handler} raised {sys.exc_info()[1]!r}"))

    async def submit(self, plans: list[OrderPlan]) -> None:
        for slot, plan in enumerate(plans):
            secrets = secrets_for(plans, slot)
            entry = await self.h.desk.submit(order_wire(plan, slot, secrets, self.custody))
            self.lots.append(Lot(slot=slot, signed=entry.signed, secrets=secrets))

    # -- views -------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return int(self.h.clock.now())

    def lot(self, order_hash: str) -> Lot | None:
        order_hash = order_hash.lower()
        return next((lot for lot in self.lots if lot.order_hash == order_hash), None)

    def name(self, order_hash: str) -> str:
        lot = self.lot(order_hash)
        return f"O{lot.slot}" if lot else order_hash[:10]

    def escrow_of(self, fill_id: str) -> Escrow | None:
        chain, _, escrow = fill_id.partition(":")
        return self.escrows.get((chain, escrow))

    def confirmations(self, escrow: Escrow) -> int:
        return max(self.h.chains.heights[escrow.chain] - escrow.created.point.height + 1, 0)

    def same_resolver(self, src_chain: str, a: str, dst_chain: str, b: str) -> bool:
        return any(party(src_chain, pair[src_chain]) == party(src_chain, a)
                   and party(dst_chain, pair[dst_chain]) == party(dst_chain, b)
                   for pair in RESOLVERS.values())

    def sources(self, lot: Lot, *, only_authentic: bool = True) -> list[Escrow]:
        """The order's source escrows on chain, in chain order."""
        return sorted((e for e in self.escrows.values()
                       if e.present and e.role is EscrowRole.SRC
                       and e.imm.order_hash.lower() == lot.order_hash
                       and (not only_authentic or authentic(self, e))),
                      key=lambda e: (e.created.point.height, e.created.point.index))

    def secret_of(self, secret_hash: str) -> bytes | None:
        """A secret the adversary knows: only a public one."""
        for lot in self.lots if secret_hash in self.public else ():
            index = lot.index_of(secret_hash)
            if index is not None:
                return lot.secrets.secrets[index]
        return None

    # -- the chains --------------------------------------------------------------------

    def _tx(self, chain: str) -> tuple[int, str]:
        self.serial += 1
        n = self.serial
        return n, (f"0x{n:064x}" if chain == "ethereum" else f"{n:064x}")

    def point(self, chain: str, where: str, tx_id: str) -> ChainPoint:
        """Where an event lands: a ``new`` block, the ``tip`` block, or ``late`` two
        blocks below the top (a monitor catching up)."""
        heights = self.h.chains.heights
        top = max(heights[chain], self.top[chain])
        if where == "new" or top == _BASE[chain]:
            height = top + 1
            self.block_ts[chain][height] = self.now
        else:
            height = top if where == "tip" else max(top - 2, _BASE[chain] + 1)
        self.top[chain] = max(self.top[chain], height)
        heights[chain] = max(heights[chain], height)
        self.hwm[chain] = max(self.hwm[chain], heights[chain])
        self.serial += 1
        return ChainPoint(chain=chain, height=height, slot=height,
                          block_id=f"0x{self.forks:08x}{height:056x}",
                          timestamp=self.block_ts[chain].get(height, self.now),
                          tx_id=tx_id, index=self.serial)

    def blocks(self, chain: str, count: int) -> None:
        start = max(self.h.chains.heights[chain], self.top[chain])
        for height in range(start + 1, start + count + 1):
            self.block_ts[chain][height] = self.now
        self.h.chains.heights[chain] = self.top[chain] = start + count
        self.hwm[chain] = max(self.hwm[chain], start + count)

    def lag(self, chain: str, count: int) -> None:
        """The tip the relayer reads moves back (a lagging endpoint); nothing is undone."""
        self.h.chains.heights[chain] = max(self.h.chains.heights[chain] - count, _BASE[chain])

    def shallow(self, point: ChainPoint) -> bool:
        """Never buried as deep as the confirmation depth: a reorg may still take it."""
        return self.hwm[point.chain] - point.height + 1 < POLICY.confirmations[point.chain]

    def applied(self) -> list[EscrowCreated | EscrowWithdrawn | EscrowCancelled]:
        """The events the chains show now, in chain order."""
        found: list[EscrowCreated | EscrowWithdrawn | EscrowCancelled] = []
        for escrow in self.escrows.values():
            if escrow.present:
                found.append(escrow.created)
                found.extend(e for e in (escrow.withdrawal, escrow.cancellation) if e)
        return sorted(found, key=lambda e: (e.point.height, e.point.index))

    async def rollback(self, chain: str, count: int) -> None:
        """The chain's last ``count`` blocks leave it (not if any of them was ever final)."""
        new_tip = max(max(self.h.chains.heights[chain], self.top[chain]) - count, _BASE[chain])
        gone = [e for e in self.applied() if e.point.chain == chain and e.point.height > new_tip]
        if not all(self.shallow(e.point) for e in gone):
            return
        for event in reversed(gone):
            await self.deliver(Harness.reverted(event))
        self.h.chains.heights[chain] = self.top[chain] = new_tip
        for height in [h for h in self.block_ts[chain] if h > new_tip]:
            del self.block_ts[chain][height]
        self.forks += 1

    async def drop(self, event: EscrowCreated | EscrowWithdrawn | EscrowCancelled) -> None:
        """A reorg leaves ``event``'s transaction out (and what spent its escrow)."""
        if isinstance(event, EscrowCreated):
            escrow = self.escrows[(event.point.chain, event.escrow)]
            for later in (escrow.withdrawal, escrow.cancellation):
                if later is not None:
                    await self.deliver(Harness.reverted(later))
        await self.deliver(Harness.reverted(event))

    async def deliver(self, event: ChainEvent, *, made_as: str = "") -> None:
        self.fold(event, made_as)
        await self.h.chain(event)

    def fold(self, event: ChainEvent, made_as: str) -> None:
        if isinstance(event, EscrowCreated):
            escrow = self.escrows.get((event.point.chain, event.escrow))
            if escrow is None:
                label = ("S" if event.role is EscrowRole.SRC else "D") + str(len(self.escrows) + 1)
                self.escrows[(event.point.chain, event.escrow)] = Escrow(label, event, made_as)
            else:
                escrow.created, escrow.present = event, True
                escrow.withdrawal = escrow.cancellation = None
            return
        found = self.escrows.get((event.point.chain, event.escrow))
        if found is None or not found.present:
            return
        if isinstance(event, EscrowWithdrawn):
            found.withdrawal = event
        elif isinstance(event, EscrowCancelled):
            found.cancellation = event
        elif isinstance(event, ChainEventReverted):
            key = event.point.key
            if found.created.point.key == key:
                found.present = False
                found.withdrawal = found.cancellation = None
            elif found.withdrawal is not None and found.withdrawal.point.key == key:
                found.withdrawal = None
            elif found.cancellation is not None and found.cancellation.point.key == key:
                found.cancellation = None

    # -- what the adversary builds -----------------------------------------------------

    def amount(self, lot: Lot, kind: str) -> int:
        """A fill's making amount: its ``part`` of what remains, the ``rest``, the
        ``whole`` order, ``one`` unit, one ``over`` what remains, or ``zero``."""
        order = lot.signed.order
        remaining = order.making_amount - sum(e.imm.amount for e in self.sources(lot))
        step = max(order.making_amount // order.parts, 1)
        return {"part": min(step, remaining) if remaining > 0 else step,
                "rest": remaining if remaining > 0 else order.making_amount,
                "whole": order.making_amount, "one": 1,
                "over": max(remaining, 0) + 1, "zero": 0}[kind]

    def hashlock(self, lot: Lot, kind: str, amount: int) -> str:
        """A fill's hash: the one its place in the order asks for (``expected``), the
        ``next`` index's, another order's of the same maker (``shared``), or one nobody
        knows (``random``)."""
        order = lot.signed.order
        filled = sum(e.imm.amount for e in self.sources(lot))
        rest = order.making_amount - filled
        expected = index_for(lot, filled, max(1, min(amount, rest))) if rest > 0 \
            else index_for(lot, filled, 1)
        kin = [o for o in self.lots if o is not lot and maker_of(o) == maker_of(lot)]
        if kind == "next":
            return lot.hash((expected + 1) % len(lot.secrets.hashes))
        if kind == "shared" and kin:
            return kin[0].hash(min(expected, len(kin[0].secrets.hashes) - 1))
        if kind in ("shared", "random"):
            return "0x" + keccak256(b"unknown", bytes([self.serial % 256])).hex()
        return lot.hash(expected)

    def source(self, lot: Lot, *, origin: str, amount: int, hashlock: str, taker: int,
               fault: str, where: str) -> tuple[EscrowCreated, str]:
        """A source escrow for ``lot``; on Cardano from the order's lock (``authentic``),
        a ``forged`` copy of it, another order's lock (``other_lineage``) or none
        (``foreign``); on Ethereum always the factory's, and ``foreign`` there is one
        for another order of the maker, never submitted here, on the same hash."""
        order = lot.signed.order
        chain = order.src_chain
        n, tx = self._tx(chain)
        point = self.point(chain, where, tx)
        unsubmitted = chain == "ethereum" and origin == "foreign"
        imm = EscrowImmutables(
            order_hash=("0x" + keccak256(b"unsubmitted", bytes([n % 256])).hex()
                        if unsubmitted else lot.signed.order_hash),
            hashlock=hashlock, maker=order.maker,
            taker=TAKERS[taker][chain], token=order.maker_asset, amount=amount,
            safety_deposit=order.src_safety_deposit,
            timelocks=order.timelocks.pack(point.timestamp))
        changes: dict[str, dict[str, Any]] = {
            "none": {}, "token": {"token": OTHER_TOKEN[chain]},
            "deposit": {"safety_deposit": imm.safety_deposit - 1},
            "timelocks": {"timelocks": imm.timelocks + (1 << (32 * SRC_CANCELLATION))},
            "maker": {"maker": STRANGER[chain]},
        }
        imm = replace(imm, **changes[fault])
        whole = taking_amount(order.taking_amount, order.auction, point.timestamp)
        complement = DstComplement(maker=order.receiver, token=order.taker_asset,
                                   amount=-(-whole * max(amount, 0) // order.making_amount),
                                   safety_deposit=order.dst_safety_deposit,
                                   chain_id=(1 << 64) + 42)
        lineage = None if chain == "ethereum" else self._origin(lot, origin, n)
        made_as = (("another order of the maker" if unsubmitted else "authentic")
                   if chain == "ethereum" else origin) + (
            "" if fault == "none" else f", bad {fault}")
        return EscrowCreated(
            role=EscrowRole.SRC, escrow=f"0x{n:040x}" if chain == "ethereum" else f"{tx}#0",
            immutables=imm, complement=complement, point=point, origin=lineage), made_as

    def _origin(self, lot: Lot, kind: str, n: int) -> LockOrigin | None:
        """The order-script output a Cardano fill spent, and that output's first one."""
        if kind == "authentic":
            before = self.sources(lot)
            assert lot.root is not None
            lock = lot.root if not before else f"{before[-1].created.point.tx_id}#1"
            return LockOrigin(lock=lock, root=lot.root,
                              filled_before=sum(e.imm.amount for e in before), depth=len(before))
        if kind == "forged":
            forged = f"f0{n:062x}#0"
            return LockOrigin(lock=forged, root=forged, filled_before=0, depth=0)
        if kind == "other_lineage":
            roots = [o.root for o in self.lots if o.root is not None and o is not lot]
            root = roots[0] if roots else f"e0{n:062x}#0"
            return LockOrigin(lock=root, root=root, filled_before=0, depth=0)
        return None

    def destination(self, src: Escrow, fault: str, where: str) -> EscrowCreated | None:
        """The destination escrow ``src``'s resolver owes (``fault``: one term wrong);
        None for an order this relayer never saw."""
        lot = self.lot(src.imm.order_hash)
        if lot is None:
            return None
        order = lot.signed.order
        chain = order.src_chain if fault == "chain" else order.dst_chain
        n, tx = self._tx(chain)
        point = self.point(chain, where, tx)
        taker = next((t for t in TAKERS if party(order.src_chain, t[order.src_chain])
                      == party(order.src_chain, src.imm.taker)), ROGUE)
        promised = src.created.complement.amount if src.created.complement else 0
        imm = EscrowImmutables(
            order_hash=lot.signed.order_hash, hashlock=src.imm.hashlock, maker=order.receiver,
            taker=taker[chain], token=order.taker_asset, amount=max(need(lot, src), promised),
            safety_deposit=order.dst_safety_deposit,
            timelocks=order.timelocks.pack(point.timestamp))
        others = [o for o in self.lots if o is not lot]
        packed = imm.timelocks
        changes: dict[str, dict[str, Any]] = {
            "ok": {}, "chain": {},
            "amount": {"amount": imm.amount - 1},
            "token": {"token": OTHER_TOKEN[chain]},
            "receiver": {"maker": STRANGER[chain]},
            "taker": {"taker": (TAKERS[1] if taker is TAKERS[0] else TAKERS[0])[chain]},
            "rogue_taker": {"taker": ROGUE[chain]},
            "hashlock": {"hashlock": "0x" + keccak256(b"nobody's", bytes([n % 256])).hex()},
            "order_hash": {"order_hash": others[0].signed.order_hash if others
                           else "0x" + "0d" * 32},
            "late_cancel": {"timelocks": _with_offset(packed, DST_CANCELLATION, 10_000)},
            "finality0": {"timelocks": _with_offset(packed, DST_WITHDRAWAL, 0)},
            "deposit": {"safety_deposit": imm.safety_deposit - 1},
            "short_window": {"timelocks": _with_offset(packed, DST_CANCELLATION, 70)},
        }
        imm = replace(imm, **changes[fault])
        return EscrowCreated(
            role=EscrowRole.DST, escrow=f"0x{n:040x}" if chain == "ethereum" else f"{tx}#0",
            immutables=imm, complement=None, point=point)

    def spendable(self, escrow: Escrow, *, cancel: bool) -> bool:
        """What the escrow contracts allow now: a withdrawal from the (private)
        withdrawal stage to the cancellation, a cancellation from then on."""
        src = escrow.role is EscrowRole.SRC
        withdrawal = stage_at(escrow.imm.timelocks, 0 if src else DST_WITHDRAWAL)
        cancellation = stage_at(escrow.imm.timelocks,
                                SRC_CANCELLATION if src else DST_CANCELLATION)
        return self.now >= cancellation if cancel else withdrawal <= self.now < cancellation

    async def withdraw(self, escrow: Escrow, secret: bytes) -> None:
        _, tx = self._tx(escrow.chain)
        await self.deliver(EscrowWithdrawn(escrow=escrow.created.escrow,
                                           secret="0x" + secret.hex(),
                                           point=self.point(escrow.chain, "new", tx)))

    async def cancel(self, escrow: Escrow) -> None:
        _, tx = self._tx(escrow.chain)
        await self.deliver(EscrowCancelled(escrow=escrow.created.escrow,
                                           point=self.point(escrow.chain, "new", tx)))

    def finalize(self, escrows: list[Escrow]) -> None:
        """Bury ``escrows`` deep enough and wait out their orders' finality locks."""
        for chain in dict.fromkeys(e.chain for e in escrows):
            self.blocks(chain, POLICY.confirmations[chain])
        for escrow in escrows:
            edge = self.window_edge(escrow, "lock")
            if escrow.role is EscrowRole.DST and edge is not None and self.now < edge:
                self.h.clock.set(edge)

    def window_edge(self, escrow: Escrow, stage: int | str) -> int | None:
        """When one of ``escrow``'s windows opens: a timelock stage (0-6), its order's
        finality ``lock`` counted from its creation, or the safety ``margin`` before its
        destination cancellation."""
        packed = escrow.imm.timelocks
        if stage == "lock":
            lot = self.lot(escrow.imm.order_hash)
            return None if lot is None else (
                escrow.created.point.timestamp + lot.signed.order.timelocks.dst_withdrawal)
        if stage == "margin":
            return stage_at(packed, DST_CANCELLATION) - POLICY.safety_margin
        return stage_at(packed, int(stage))


def _with_offset(packed: int, stage: int, offset: int) -> int:
    mask = 0xFFFF_FFFF << (32 * stage)
    return (packed & ~mask) | (offset << (32 * stage))
