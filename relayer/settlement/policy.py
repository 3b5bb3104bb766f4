"""The secret-reveal policy of ARCHITECTURE section 5, one named check per rule.

Pure functions of what the relayer indexed itself: the order, the two escrows
as the monitors saw them, their confirmations, the time. ``evaluate`` runs
every check and returns every reason that holds the secret back, so a
resolver sees all that is wrong at once; the secret may be released only
when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from relayer.chains.events import EscrowCreated
from relayer.orders.model import SignedOrder
from relayer.orders.timelocks import Stage, Timelocks


class Withheld(StrEnum):
    """Why a secret is not released (yet); stable codes shown in a fill's status."""

    # Authenticity: only the maker's own funds, as committed, make a fill.
    SRC_FOREIGN_LOCK = "SRC_FOREIGN_LOCK"
    """Cardano: the Fill spent an order-script output that is not the order's registered
    lock nor a continuing output of it (anyone can pay the script a copy of the datum)."""
    SRC_LINEAGE_UNKNOWN = "SRC_LINEAGE_UNKNOWN"
    """Cardano: the escrow was indexed without its lock lineage, so it cannot be shown to
    hold the maker's funds."""
    SRC_WRONG_CHAIN = "SRC_WRONG_CHAIN"
    """The escrow names the order but lives on another chain than the order's source."""
    # Rule 1: the source escrow exists and matches the order.
    SRC_ESCROW_MISSING = "SRC_ESCROW_MISSING"
    SRC_ORDER_HASH_MISMATCH = "SRC_ORDER_HASH_MISMATCH"
    SRC_HASHLOCK_MISMATCH = "SRC_HASHLOCK_MISMATCH"
    SRC_MAKER_MISMATCH = "SRC_MAKER_MISMATCH"
    SRC_TOKEN_MISMATCH = "SRC_TOKEN_MISMATCH"
    SRC_AMOUNT_MISMATCH = "SRC_AMOUNT_MISMATCH"
    SRC_SAFETY_DEPOSIT_MISMATCH = "SRC_SAFETY_DEPOSIT_MISMATCH"
    SRC_TIMELOCKS_MISMATCH = "SRC_TIMELOCKS_MISMATCH"
    SRC_NOT_WHOLE_FILL = "SRC_NOT_WHOLE_FILL"
    """A single-secret order is filled whole, by one source escrow."""
    SRC_DUPLICATE_FILL = "SRC_DUPLICATE_FILL"
    """A single-secret order already has an authentic source escrow before this one."""
    SRC_OVERFILL = "SRC_OVERFILL"
    """With the authentic fills before it (chain order) this fill exceeds the order."""
    SRC_SECRET_INDEX_REUSED = "SRC_SECRET_INDEX_REUSED"
    """This fill's secret index (from the cumulative amount) is an earlier fill's."""
    # Rule 2: the destination escrow pays the maker what the auction required.
    DST_ESCROW_MISSING = "DST_ESCROW_MISSING"
    DST_HASHLOCK_MISMATCH = "DST_HASHLOCK_MISMATCH"
    DST_RECEIVER_MISMATCH = "DST_RECEIVER_MISMATCH"
    DST_TOKEN_MISMATCH = "DST_TOKEN_MISMATCH"
    DST_AMOUNT_TOO_LOW = "DST_AMOUNT_TOO_LOW"
    DST_SAFETY_DEPOSIT_TOO_LOW = "DST_SAFETY_DEPOSIT_TOO_LOW"
    DST_TAKER_MISMATCH = "DST_TAKER_MISMATCH"
    DST_CANCELS_LATE = "DST_CANCELS_LATE"
    DST_PUBLIC_WITHDRAWAL_LATE = "DST_PUBLIC_WITHDRAWAL_LATE"
    """The destination's public withdrawal (anyone may pay the maker with the secret)
    begins later than the order's offset allows, or leaves less than the safety margin
    before its cancellation: the maker would depend on the resolver alone."""
    # Rule 3: both creations are final and the destination's finality lock began.
    SRC_NOT_FINAL = "SRC_NOT_FINAL"
    DST_NOT_FINAL = "DST_NOT_FINAL"
    DST_FINALITY_LOCK = "DST_FINALITY_LOCK"
    # Rule 4: enough time remains to withdraw to the maker.
    DST_CANCELLATION_TOO_CLOSE = "DST_CANCELLATION_TOO_CLOSE"
    DST_RESCUE_TOO_CLOSE = "DST_RESCUE_TOO_CLOSE"
    """The destination's taker may soon rescue (take back) the payment."""
    # Rule 5: the order is not cancelled and the secret was not released before.
    ORDER_CANCELLED = "ORDER_CANCELLED"
    SECRET_ALREADY_RELEASED = "SECRET_ALREADY_RELEASED"
    # Rule 6: every escrow this secret opens has its own payment waiting.
    SHARED_HASHLOCK_UNCOVERED = "SHARED_HASHLOCK_UNCOVERED"
    """Another open authentic source escrow of this maker is locked with the same hash
    and lacks its own valid, final destination escrow (one destination covers one
    source)."""


AUTHENTICITY: frozenset[Withheld] = frozenset({
    Withheld.SRC_FOREIGN_LOCK, Withheld.SRC_LINEAGE_UNKNOWN, Withheld.SRC_WRONG_CHAIN})
"""Reasons that make a source escrow foreign: never a fill, never an index, no rule."""
PLACEMENT: frozenset[Withheld] = frozenset({
    Withheld.SRC_NOT_WHOLE_FILL, Withheld.SRC_DUPLICATE_FILL, Withheld.SRC_OVERFILL,
    Withheld.SRC_SECRET_INDEX_REUSED})
"""Rule 1 reasons that come from the order's other fills, not the escrow alone."""


class Parties(Protocol):
    """Compares parties as chain-native text (addresses, key hashes)."""

    def same(self, chain: str, a: str, b: str) -> bool:
        """``a`` and ``b`` name the same party on ``chain``."""

    def same_address(self, chain: str, a: str, b: str) -> bool:
        """``a`` and ``b`` are the same address, to the last byte (a Cardano address's
        stake part included: a payment there is the receiver's in full)."""

    def same_resolver(self, src_chain: str, src_taker: str,
                      dst_chain: str, dst_taker: str) -> bool:
        """The two takers belong to one resolver (across chains: a registered pair)."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """An escrow creation as indexed, with how deeply it is buried now."""

    escrow: EscrowCreated
    confirmations: int
    """Blocks from the escrow's block to the tip, counting its own (1 = in the tip)."""


@dataclass(frozen=True, slots=True)
class FillFacts:
    signed: SignedOrder
    secret_index: int
    fill_amount: int
    """The making amount this fill moved into the source escrow."""
    required_dst_amount: int
    """What the auction required for this fill when the source escrow was created."""
    src: Sighting | None
    dst: Sighting | None
    now: int
    order_cancelled: bool
    secret_released: bool
    placement: tuple[Withheld, ...] = ()
    """Rule 1 reasons from where this fill stands among the order's authentic fills
    (``settlement.placement``)."""
    uncovered: bool = False
    """Rule 6: another open authentic source escrow with this hash lacks its own
    destination (``settlement.coverage``)."""

    @property
    def secret_hash(self) -> str:
        return "0x" + self.signed.secret_hashes[self.secret_index].hex()


@dataclass(frozen=True, slots=True)
class PolicySettings:
    confirmations: dict[str, int]
    """The confirmation depth each chain needs before an escrow counts as final."""
    safety_margin: int
    """Seconds that must remain before the destination escrow's cancellation."""
    dst_rescue_delays: Mapping[str, int] = field(default_factory=dict)
    """Per chain, the escrow factory's destination rescue delay: from the escrow's
    ``deployedAt`` plus this its taker may take the payment back."""


@dataclass(frozen=True, slots=True)
class Verdict:
    reasons: tuple[Withheld, ...]

    @property
    def release(self) -> bool:
        return not self.reasons


Check = Callable[[FillFacts, PolicySettings, Parties], list[Withheld]]


def stage_start(packed_timelocks: int, stage: Stage) -> int:
    """Absolute time (POSIX seconds) at which ``stage`` begins for an escrow whose
    immutables carry ``packed_timelocks``."""
    timelocks, deployed_at = Timelocks.unpack(packed_timelocks)
    return deployed_at + timelocks.offsets()[stage]


def source_escrow_matches(facts: FillFacts, settings: PolicySettings,
                          parties: Parties) -> list[Withheld]:
    """Rule 1: order hash, hashlock (or this fill's leaf), maker, token, amount,
    safety deposit and timelock offsets."""
    if facts.src is None:
        return [Withheld.SRC_ESCROW_MISSING]
    order, src = facts.signed.order, facts.src.escrow.immutables
    chain = order.src_chain
    reasons = []
    if src.order_hash != facts.signed.order_hash:
        reasons.append(Withheld.SRC_ORDER_HASH_MISMATCH)
    if src.hashlock.lower() != facts.secret_hash:
        reasons.append(Withheld.SRC_HASHLOCK_MISMATCH)
    if not parties.same(chain, src.maker, order.maker):
        reasons.append(Withheld.SRC_MAKER_MISMATCH)
    if not parties.same(chain, src.token, order.maker_asset):
        reasons.append(Withheld.SRC_TOKEN_MISMATCH)
    if src.amount != facts.fill_amount or not 0 < src.amount <= order.making_amount:
        reasons.append(Withheld.SRC_AMOUNT_MISMATCH)
    if src.safety_deposit != order.src_safety_deposit:
        reasons.append(Withheld.SRC_SAFETY_DEPOSIT_MISMATCH)
    if _source_offsets(Timelocks.unpack(src.timelocks)[0]) != _source_offsets(order.timelocks):
        reasons.append(Withheld.SRC_TIMELOCKS_MISMATCH)
    reasons.extend(facts.placement)
    return reasons


def _source_offsets(timelocks: Timelocks) -> tuple[int, ...]:
    """The stages a source escrow enforces. An Ethereum source escrow also carries the
    order's destination offsets, a Cardano one does not (its datum has only its own
    stages): the destination escrow's own timelocks are what rules 2 to 4 check."""
    return (timelocks.src_withdrawal, timelocks.src_public_withdrawal,
            timelocks.src_cancellation, timelocks.src_public_cancellation)


def destination_escrow_matches(facts: FillFacts, settings: PolicySettings,
                               parties: Parties) -> list[Withheld]:
    """Rule 2: same hashlock, pays the receiver at least the auction amount in the
    taker asset, carries the deposit, same resolver, cancels no later than the source."""
    if facts.dst is None:
        return [Withheld.DST_ESCROW_MISSING]
    order, dst = facts.signed.order, facts.dst.escrow.immutables
    chain = order.dst_chain
    reasons = []
    if dst.hashlock.lower() != facts.secret_hash:
        reasons.append(Withheld.DST_HASHLOCK_MISMATCH)
    if not parties.same_address(chain, dst.maker, order.receiver):
        reasons.append(Withheld.DST_RECEIVER_MISMATCH)
    if not parties.same(chain, dst.token, order.taker_asset):
        reasons.append(Withheld.DST_TOKEN_MISMATCH)
    if dst.amount < facts.required_dst_amount:
        reasons.append(Withheld.DST_AMOUNT_TOO_LOW)
    if dst.safety_deposit < order.dst_safety_deposit:
        reasons.append(Withheld.DST_SAFETY_DEPOSIT_TOO_LOW)
    if facts.src is not None:
        src = facts.src.escrow
        if not parties.same_resolver(order.src_chain, src.immutables.taker, chain, dst.taker):
            reasons.append(Withheld.DST_TAKER_MISMATCH)
        if (stage_start(facts.dst.escrow.immutables.timelocks, Stage.DST_CANCELLATION)
                > stage_start(src.immutables.timelocks, Stage.SRC_CANCELLATION)):
            reasons.append(Withheld.DST_CANCELS_LATE)
    if public_window_short(order.timelocks.dst_public_withdrawal, facts.dst.escrow,
                           settings.safety_margin):
        reasons.append(Withheld.DST_PUBLIC_WITHDRAWAL_LATE)
    return reasons


def created_at(escrow: EscrowCreated) -> int:
    """When an escrow was created: the later of its block's time and the ``deployedAt``
    it declares (a Cardano lower validity bound can lie before the block)."""
    _, deployed_at = Timelocks.unpack(escrow.immutables.timelocks)
    return max(escrow.point.timestamp, deployed_at)


def public_window_short(order_offset: int, dst: EscrowCreated, margin: int) -> bool:
    """Whether the destination's public withdrawal window fails the maker: it must begin
    no later than the order's DstPublicWithdrawal offset after the escrow's creation, and
    stay open at least ``margin`` seconds before the escrow cancels. After a release the
    resolver may never withdraw to the maker; only this window lets anyone else do it."""
    packed = dst.immutables.timelocks
    public = stage_start(packed, Stage.DST_PUBLIC_WITHDRAWAL)
    return (public > created_at(dst) + order_offset
            or public + margin >= stage_start(packed, Stage.DST_CANCELLATION))


def finality_lock_end(order_offset: int, dst: EscrowCreated) -> int:
    """When the destination's finality lock ends: the ORDER's DstWithdrawal offset
    counted from the escrow's creation (the later of its block's time and the
    ``deployedAt`` it declares), and never before the escrow's own withdrawal stage.
    The escrow's declared offset is the resolver's choice and may be 0."""
    packed = dst.immutables.timelocks
    return max(created_at(dst) + order_offset, stage_start(packed, Stage.DST_WITHDRAWAL))


def both_final(facts: FillFacts, settings: PolicySettings,
               parties: Parties) -> list[Withheld]:
    """Rule 3: the confirmation depth is reached on each chain and the order's
    destination finality lock has passed."""
    order = facts.signed.order
    reasons = []
    if facts.src is None or facts.src.confirmations < settings.confirmations[order.src_chain]:
        reasons.append(Withheld.SRC_NOT_FINAL)
    if facts.dst is None or facts.dst.confirmations < settings.confirmations[order.dst_chain]:
        reasons.append(Withheld.DST_NOT_FINAL)
    dst = facts.dst
    if dst is None or facts.now < finality_lock_end(order.timelocks.dst_withdrawal,
                                                    dst.escrow):
        reasons.append(Withheld.DST_FINALITY_LOCK)
    return reasons


def time_remains(facts: FillFacts, settings: PolicySettings,
                 parties: Parties) -> list[Withheld]:
    """Rule 4: the resolver still has the safety margin to withdraw to the maker."""
    if facts.dst is None:
        return []  # rule 2 already holds the secret back
    packed = facts.dst.escrow.immutables.timelocks
    reasons = []
    if facts.now + settings.safety_margin >= stage_start(packed, Stage.DST_CANCELLATION):
        reasons.append(Withheld.DST_CANCELLATION_TOO_CLOSE)
    delay = settings.dst_rescue_delays.get(facts.signed.order.dst_chain)
    if delay is not None and facts.now + settings.safety_margin >= (
            Timelocks.unpack(packed)[1] + delay):
        reasons.append(Withheld.DST_RESCUE_TOO_CLOSE)
    return reasons


def not_cancelled_nor_released(facts: FillFacts, settings: PolicySettings,
                               parties: Parties) -> list[Withheld]:
    """Rule 5: the order is not cancelled and this secret was not released already."""
    reasons = []
    if facts.order_cancelled:
        reasons.append(Withheld.ORDER_CANCELLED)
    if facts.secret_released:
        reasons.append(Withheld.SECRET_ALREADY_RELEASED)
    return reasons


def covered(facts: FillFacts, settings: PolicySettings,
            parties: Parties) -> list[Withheld]:
    """Rule 6: every open authentic source escrow this secret opens has its own payment."""
    return [Withheld.SHARED_HASHLOCK_UNCOVERED] if facts.uncovered else []


PAIR_RULES: tuple[Check, ...] = (
    source_escrow_matches,
    destination_escrow_matches,
    both_final,
    time_remains,
)
"""Rules 1 to 4: what one source escrow and one destination escrow must satisfy."""
RULES: tuple[Check, ...] = (*PAIR_RULES, not_cancelled_nor_released, covered)


def evaluate(facts: FillFacts, settings: PolicySettings, parties: Parties,
             rules: tuple[Check, ...] = RULES) -> Verdict:
    reasons: list[Withheld] = []
    for rule in rules:
        reasons.extend(rule(facts, settings, parties))
    return Verdict(tuple(reasons))
