"""An adversary that plays both chains against the real settlement coordinator, and
the oracle that judges every secret the relayer lets out.

The world runs the real coordinator, order desk and SQLite log of
``tests/settlement/harness.py``; only the chains and the clock are played here.
Every chain event goes through ``World.deliver``: the world folds it into its
own record of what the chains show, then hands it to the relayer as a monitor
would. Heights follow a small model: an event lands in a new block, in the tip
block, or late in an older one; the tip the relayer reads can lag or roll back;
a block may leave the chain (``ChainEventReverted``) only while it was never
buried as deep as the configured confirmation depth. A reorg deeper than that
is outside every guarantee the relayer gives, and is never played.

The oracle (``judge``, ``covers``, ``clean_fills``) is written from ARCHITECTURE
section 5, apart from ``relayer.settlement.policy``. When a secret goes out
(``SecretReleased``, seen on the bus at the moment it is published) every open
authentic source escrow of the same maker locked with that hash, in any order,
must have its own valid and final destination escrow (a bipartite matching: one
destination never covers two sources), and the fill it went out for must be one
of them. A secret goes out once per order and index; a secret "seen on chain"
must have been public already.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
from pycardano import Address

from relayer.auction.curve import taking_amount
from relayer.events.chain import (
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
from relayer.events.settlement import SecretReleased
from relayer.orders.merkle import merkle_root
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet
from relayer.orders.status import OrderStatus
from relayer.orders.wire import (
    AuctionPointWire,
    AuctionWire,
    CustodyWire,
    OrderSubmissionWire,
    UtxoRefWire,
)
from relayer.settlement.custody import CustodyKeyring, seal_secret
from relayer.signing.keccak import keccak256
from tests.factories import NOW, submission
from tests.settlement.harness import CUSTODY_KEY, POLICY, Harness
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

RESOLVERS = {"r1": {"ethereum": RESOLVER_ETH, "cardano": RESOLVER_ADA},
             "r2": {"ethereum": "0x" + "b2" * 20, "cardano": "b2" * 28}}
ROGUE = {"ethereum": "0x" + "66" * 20, "cardano": "66" * 28}
"""A resolver nobody registered: its two addresses are no pair."""
TAKERS = (RESOLVERS["r1"], RESOLVERS["r2"], ROGUE)
STRANGER = {"ethereum": "0x" + "99" * 20, "cardano": "99" * 28}
OTHER_TOKEN = {"ethereum": "0x" + "77" * 20, "cardano": "77" * 28 + ".544f4b"}
SRC_CANCELLATION, DST_WITHDRAWAL, DST_CANCELLATION = 2, 4, 6
_GAS_WORST_CASE = 1 << 128
_BASE = {"ethereum": 100, "cardano": 10}
"""The harness's first heights: no event of this model lands at or below them."""
_LIVE = frozenset({OrderStatus.PENDING, OrderStatus.ACTIVE, OrderStatus.PARTIALLY_FILLED,
                   OrderStatus.FILLED})
"""Order statuses in which an honest fill must get its secret."""

UNCOVERED = "UNCOVERED"
"""A secret went out while an open authentic source escrow with its hash had no valid,
final destination escrow of its own."""
NOT_AUTHENTIC = "NOT_AUTHENTIC"
"""A secret went out for a fill that is not an authentic source escrow locked with it."""
TWICE = "TWICE"
UNKNOWN_ON_CHAIN = "UNKNOWN_ON_CHAIN"
LIVENESS = "LIVENESS"
"""A clean, valid, final fill did not get its secret (a tick, or the maker's post)."""
CRASH = "CRASH"
"""The coordinator raised on what the chains showed (it then stops evaluating the order)."""
LOG = "LOG"


@dataclass(frozen=True, slots=True)
class OrderPlan:
    direction: str
    """``eth_to_ada`` or ``ada_to_eth`` (factories.submission)."""
    parts: int
    gas: bool
    """Gas terms in the auction: the relayer must assume the worst base fee."""
    share: int | None
    """An earlier order of the same maker whose secrets this one reuses: all of them
    when both have as many (one hashlock for two orders), else the first."""


@dataclass
class Lot:
    """One order the maker submitted, with what only the maker knows."""

    slot: int
    signed: SignedOrder
    secrets: SecretSet

    @property
    def order_hash(self) -> str:
        return self.signed.order_hash.lower()

    @property
    def root(self) -> str | None:
        """Its registered Cardano order lock (``src_order_utxo``) as a lineage root."""
        utxo = self.signed.src_order_utxo
        return None if utxo is None else f"{utxo.tx_id}#{utxo.index}"

    def hash(self, index: int) -> str:
        return "0x" + self.secrets.hashes[index].hex()

    def index_of(self, secret_hash: str) -> int | None:
        return next((i for i in range(len(self.secrets.hashes)) if self.hash(i) == secret_hash),
                    None)


@dataclass
class Escrow:
    """One escrow as the world shows it to the relayer."""

    label: str
    created: EscrowCreated
    made_as: str
    """How the adversary made it: for messages only; the oracle never reads it."""
    present: bool = True
    withdrawal: EscrowWithdrawn | None = None
    cancellation: EscrowCancelled | None = None

    @property
    def chain(self) -> str:
        return self.created.point.chain

    @property
    def role(self) -> EscrowRole:
        return self.created.role

    @property
    def imm(self) -> EscrowImmutables:
        return self.created.immutables

    @property
    def hashlock(self) -> str:
        return self.imm.hashlock.lower()

    @property
    def is_open(self) -> bool:
        return self.present and self.withdrawal is None and self.cancellation is None

    def describe(self) -> str:
        return f"{self.label} ({self.made_as}, amount {self.imm.amount})"


# -- the oracle --------------------------------------------------------------------------


@functools.cache
def party(chain: str, text: str) -> str:
    """One spelling per party: lowercase hex on Ethereum, the payment key hash on Cardano."""
    if chain == "ethereum":
        return text.lower()
    if text.startswith("addr"):
        return bytes(Address.decode(text).payment_part.payload).hex()
    return text.lower().removeprefix("0x")


def stage_at(packed: int, stage: int) -> int:
    """When stage ``stage`` (0 SrcWithdrawal ... 6 DstCancellation) of an escrow begins."""
    return (packed >> 224) + ((packed >> (32 * stage)) & 0xFFFF_FFFF)


def need(lot: Lot, src: Escrow) -> int:
    """The least a destination must pay for ``src``: the curve at the source escrow's
    creation, pro rata and rounded up, with the worst gas adjustment if there is one."""
    order = lot.signed.order
    gas = order.auction.gas_bump_estimate and order.auction.gas_price_estimate
    whole = taking_amount(order.taking_amount, order.auction, src.created.point.timestamp,
                          _GAS_WORST_CASE if gas else 0)
    return -(-whole * max(src.imm.amount, 0) // order.making_amount)


def covers(world: World, src: Escrow, dst: Escrow) -> list[str]:
    """Why ``dst`` is not a valid, final destination for ``src`` (nothing: it is)."""
    lot = world.lot(src.imm.order_hash)
    if lot is None:
        return ["unknown_order"]  # nobody here knows what it must pay: nothing covers it
    order, now = lot.signed.order, world.now
    dst_cancel = stage_at(dst.imm.timelocks, DST_CANCELLATION)
    failed = {
        "chain": dst.chain != order.dst_chain or dst.role is not EscrowRole.DST,
        "order_hash": dst.imm.order_hash.lower() != lot.order_hash,
        "hashlock": dst.hashlock != src.hashlock,
        "receiver": party(order.dst_chain, dst.imm.maker) != party(order.dst_chain,
                                                                   order.receiver),
        "token": dst.imm.token.lower() != order.taker_asset.lower(),
        "amount": dst.imm.amount < need(lot, src),
        "deposit": dst.imm.safety_deposit < order.dst_safety_deposit,
        "taker": not world.same_resolver(order.src_chain, src.imm.taker, dst.chain,
                                         dst.imm.taker),
        "cancels_late": dst_cancel > stage_at(src.imm.timelocks, SRC_CANCELLATION),
        "src_not_final": world.confirmations(src) < POLICY.confirmations[src.chain],
        "dst_not_final": world.confirmations(dst) < POLICY.confirmations[dst.chain],
        "finality_lock": now < dst.created.point.timestamp + order.timelocks.dst_withdrawal,
        "too_close": now + POLICY.safety_margin >= dst_cancel,
        "gone": dst.cancellation is not None or not dst.present,
    }
    return [reason for reason, failing in failed.items() if failing]


def authentic(world: World, escrow: Escrow) -> bool:
    """Holds the maker's own funds: any source escrow on Ethereum (the monitor indexes
    the factory's only, and the factory took the funds of the maker its immutables
    name, even for an order never submitted here); on Cardano one whose lineage
    starts at its order's registered lock."""
    lot = world.lot(escrow.imm.order_hash)
    if escrow.role is not EscrowRole.SRC:
        return False
    if escrow.chain == "ethereum":
        return lot is None or lot.signed.order.src_chain == "ethereum"
    origin = escrow.created.origin
    return (lot is not None and lot.signed.order.src_chain == escrow.chain
            and origin is not None and origin.root == lot.root)


def maker_of(lot: Lot) -> tuple[str, str]:
    order = lot.signed.order
    return order.src_chain, party(order.src_chain, order.maker)


def owner_of(world: World, escrow: Escrow) -> tuple[str, str]:
    """Whose funds an authentic source escrow holds."""
    lot = world.lot(escrow.imm.order_hash)
    return maker_of(lot) if lot else (escrow.chain, party(escrow.chain, escrow.imm.maker))


def matching(edges: dict[str, list[str]]) -> dict[str, str]:
    """A maximum matching of sources to destinations (augmenting paths; tiny graphs)."""
    owner: dict[str, str] = {}

    def augment(src: str, seen: set[str]) -> bool:
        for dst in edges[src]:
            if dst not in seen:
                seen.add(dst)
                if dst not in owner or augment(owner[dst], seen):
                    owner[dst] = src
                    return True
        return False

    for src in edges:
        augment(src, set())
    return {src: dst for dst, src in owner.items()}


def judge(world: World, event: SecretReleased) -> list[tuple[str, str]]:
    """Everything wrong with a release, at the moment it is published."""
    problems = []
    key = (event.order_hash.lower(), event.secret_index)
    secret_hash = event.secret_hash.lower()
    what = f"secret {event.secret_index} of {world.name(key[0])} ({event.source})"
    if key in world.released:
        problems.append((TWICE, f"{what} released twice"))
    if event.source == "chain":
        if secret_hash not in world.public:
            problems.append((UNKNOWN_ON_CHAIN, f"{what}: nobody had it yet"))
        return problems
    lot = world.lot(event.order_hash)
    if lot is None or lot.index_of(secret_hash) != event.secret_index:
        return [*problems, (NOT_AUTHENTIC, f"{what} is not the order's: {event}")]
    fill = world.escrow_of(event.fill_id)
    if fill is None or not (fill.present and authentic(world, fill)
                            and fill.imm.order_hash.lower() == lot.order_hash
                            and fill.hashlock == secret_hash):
        problems.append((NOT_AUTHENTIC, f"{what} released for "
                         f"{fill.describe() if fill else event.fill_id}, not an authentic "
                         "source escrow of the order locked with that hash"))
    sources = [s for s in world.escrows.values()
               if s.is_open and s.hashlock == secret_hash and authentic(world, s)
               and owner_of(world, s) == maker_of(lot)]
    targets = [d for d in world.escrows.values()
               if d.present and d.role is EscrowRole.DST and d.hashlock == secret_hash]
    matched = matching({s.label: [d.label for d in targets if not covers(world, s, d)]
                        for s in sources})
    for src in sources:
        if src.label not in matched:
            closest = min(((covers(world, src, d), d.label) for d in targets), default=None)
            problems.append((UNCOVERED, (
                f"{what} released for {fill.label if fill else event.fill_id} while "
                f"{src.describe()} of {world.name(src.imm.order_hash)} is open and has no "
                "valid final destination of its own; " + (
                    f"closest {closest[1]} fails {closest[0] or ['nothing (matched elsewhere)']}"
                    if closest else "no destination carries the hash"))))
    return problems


def clean_fills(world: World) -> list[tuple[Lot, int]]:
    """Secrets that must go out now: an honest fill, valid and final, alone with its
    destination on its hash, in a live order whose every source escrow is honest."""
    found = []
    for lot in world.lots:
        order = lot.signed.order
        entry = world.h.book.get(lot.order_hash)
        placed = _place_honestly(world, lot)
        if entry is None or entry.status not in _LIVE or placed is None:
            continue
        for src, index in placed:
            dst = _sole_partner(world, src)
            if (src.is_open and (lot.order_hash, index) not in world.released
                    and dst is not None and dst.is_open and not covers(world, src, dst)
                    and dst.imm.order_hash.lower() == lot.order_hash
                    and dst.imm.timelocks % (1 << 224) == order.timelocks.pack()
                    and src.created.complement is not None
                    and dst.imm.amount >= src.created.complement.amount
                    and src.created.point.timestamp <= order.deadline
                    and world.now < stage_at(src.imm.timelocks, SRC_CANCELLATION)
                    and world.now + POLICY.safety_margin + 1
                    < stage_at(dst.imm.timelocks, DST_CANCELLATION)):
                found.append((lot, index))
    return found


def _place_honestly(world: World, lot: Lot) -> list[tuple[Escrow, int]] | None:
    """Each of the order's source escrows with the secret index it must use, or None
    unless every one is authentic, matches the order and takes its part in chain order."""
    order = lot.signed.order
    sources = world.sources(lot, only_authentic=False)
    if order.parts == 1 and [s.imm.amount for s in sources] != [order.making_amount]:
        return None
    placed, filled = [], 0
    for depth, src in enumerate(sources):
        imm, amount, origin = src.imm, src.imm.amount, src.created.origin
        if not (authentic(world, src) and src.cancellation is None
                and party(order.src_chain, imm.maker) == party(order.src_chain, order.maker)
                and imm.token.lower() == order.maker_asset.lower()
                and imm.safety_deposit == order.src_safety_deposit
                and imm.timelocks % (1 << 128) == order.timelocks.pack() % (1 << 128)
                and 0 < amount <= order.making_amount - filled):
            return None
        if src.chain == "cardano" and (origin is None or origin.filled_before != filled
                                       or origin.depth != depth):
            return None
        index = index_for(lot, filled, amount)
        if imm.hashlock.lower() != lot.hash(index):
            return None
        placed.append((src, index))
        filled += amount
    return placed


def index_for(lot: Lot, filled: int, amount: int) -> int:
    """The secret index of a fill of ``amount`` after ``filled`` (docs/protocol.md)."""
    order = lot.signed.order
    if order.parts == 1:
        return 0
    if filled + amount >= order.making_amount:
        return order.parts
    return (filled + amount - 1) * order.parts // order.making_amount


def _sole_partner(world: World, src: Escrow) -> Escrow | None:
    """The one other escrow anywhere that carries ``src``'s hash, if exactly one does."""
    others = [e for e in world.escrows.values()
              if e.present and e is not src and e.hashlock == src.hashlock]
    return others[0] if len(others) == 1 and others[0].role is EscrowRole.DST else None


# -- orders ------------------------------------------------------------------------------


def secrets_for(plans: list[OrderPlan], slot: int) -> SecretSet:
    """Fixed secrets per order slot (a derandomized run must replay exactly)."""
    plan = plans[slot]
    count = 1 if plan.parts == 1 else plan.parts + 1
    secrets = [keccak256(b"adversary secret", bytes([slot, i])) for i in range(count)]
    share = plan.share
    if share is not None and share < slot and plans[share].direction == plan.direction:
        theirs = secrets_for(plans, share).secrets
        if len(theirs) == count:
            secrets = list(theirs)
        else:
            secrets[0] = theirs[0]
    hashes = tuple(keccak256(s) for s in secrets)
    hashlock = hashes[0] if plan.parts == 1 else merkle_root(hashes)
    return SecretSet(secrets=tuple(secrets), hashes=hashes, hashlock=hashlock)


@functools.cache
def order_wire(plan: OrderPlan, slot: int, secrets: SecretSet, custody: bool
               ) -> OrderSubmissionWire:
    """A signed submission (signing is slow: each one is made once per process)."""
    auction = AuctionWire(start_time=NOW, duration=180, initial_rate_bump=500_000,
                          points=[AuctionPointWire(rate_bump=250_000, delay=60)],
                          gas_bump_estimate=10_000 if plan.gas else 0,
                          gas_price_estimate=1000 if plan.gas else 0)
    wire = submission(plan.direction, parts=plan.parts, secrets=secrets,
                      salt=str(1000 + slot), auction=auction)
    if wire.src_order_utxo is not None:
        wire = msgspec.structs.replace(wire, src_order_utxo=UtxoRefWire(
            tx_id=f"{0xa0 + slot:02x}" * 32, index=slot))
    if custody:
        key_id = CustodyKeyring([CUSTODY_KEY]).active_key_id
        wire = msgspec.structs.replace(wire, custody=CustodyWire(key_id=key_id, sealed_secrets=[
            "0x" + seal_secret(key_id, s).hex() for s in secrets.secrets]))
    return wire


# -- the world ---------------------------------------------------------------------------


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
