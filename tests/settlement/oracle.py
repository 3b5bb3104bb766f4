"""The oracle of the adversarial settlement model: it judges every secret the relayer
lets out, and names the secrets that must go out.

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

from typing import TYPE_CHECKING

from relayer.auction.curve import taking_amount
from relayer.chains.events import EscrowRole
from relayer.orders.status import OrderStatus
from relayer.settlement.events import SecretReleased
from tests.settlement.harness import POLICY
from tests.settlement.pieces import (
    DST_CANCELLATION,
    SRC_CANCELLATION,
    Escrow,
    Lot,
    party,
    stage_at,
)

if TYPE_CHECKING:
    from tests.settlement.adversary import World

_GAS_WORST_CASE = 1 << 128
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
