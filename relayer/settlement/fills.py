"""A fill's status: an explicit enum, its transition table, and how facts decide it.

A fill is one source escrow of an order. Its status is derived from what the
chains show (both escrows, their withdrawals and cancellations, how final
they are), the time and whether its secret was released; the coordinator
records a change only when the derived status (or the reasons a secret is
withheld) really changes. Chains can move a fill back (a reorg or rollback),
so the table allows backward moves, but never to before the release once a
secret is out, and never out of a terminal status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from relayer.chains.escrows import EscrowPhase, EscrowState
from relayer.errors import TransitionError
from relayer.orders.timelocks import Stage
from relayer.settlement.policy import Verdict, Withheld, stage_start


class FillStatus(StrEnum):
    SRC_SEEN = "src_escrow_seen"
    """The source escrow is indexed; no destination escrow matches it yet."""
    INVALID_ESCROW = "invalid_escrow"
    """An escrow does not match the order (see the reasons); the secret is withheld."""
    VERIFIED = "verified"
    """Both escrows match; waiting for finality."""
    FINAL = "final"
    """Both escrows match and are final, but the secret is still withheld (reasons)."""
    READY = "ready_for_secret"
    """Every reveal rule holds: the maker may post the secret (or custody releases it)."""
    SECRET_RELEASED = "secret_released"
    DST_WITHDRAWN = "dst_withdrawn"
    """The maker was paid on the destination chain."""
    SRC_WITHDRAWN = "src_withdrawn"
    """The resolver took the maker's funds on the source chain."""
    PUBLIC_WITHDRAW = "public_withdraw"
    """The private withdraw window passed unused: any resolver may withdraw."""
    CANCELLATION = "cancellation"
    """The source escrow's cancellation window began without a withdrawal."""
    PUBLIC_CANCELLATION = "public_cancellation"
    """Any resolver may cancel the source escrow and refund the maker."""
    SETTLED = "settled"
    """Both escrows withdrawn and final."""
    REFUNDED = "refunded"
    """The source escrow was cancelled (the maker has its funds back), final."""
    REVERTED = "reverted"
    """The source escrow left the chain in a reorg or rollback."""
    FOREIGN = "foreign"
    """The escrow names the order but does not hold the maker's funds as committed (a
    forged or unregistered order lock, another chain): never a fill of the order, never
    a secret index, never a reason to release (the reasons say why)."""


S = FillStatus
BEFORE_RELEASE = frozenset({S.SRC_SEEN, S.INVALID_ESCROW, S.VERIFIED, S.FINAL, S.READY})
TERMINAL = frozenset({S.SETTLED, S.REFUNDED})
QUIET = TERMINAL | {S.FOREIGN}
"""Statuses that time alone does not change: the tick leaves them alone."""
TRANSITIONS: dict[FillStatus, frozenset[FillStatus]] = {
    **{status: frozenset(set(S) - {status}) for status in BEFORE_RELEASE | {S.REVERTED}},
    **{status: frozenset(set(S) - BEFORE_RELEASE - {status})
       for status in (S.SECRET_RELEASED, S.DST_WITHDRAWN, S.SRC_WITHDRAWN, S.PUBLIC_WITHDRAW,
                      S.CANCELLATION, S.PUBLIC_CANCELLATION)},
    # Authenticity does not change while the escrow is on chain; only a reorg ends it.
    S.FOREIGN: frozenset({S.REVERTED}),
    S.SETTLED: frozenset(),
    S.REFUNDED: frozenset(),
}


def check_transition(current: FillStatus, target: FillStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionError(f"fill cannot move from {current} to {target}",
                              details={"from": str(current), "to": str(target)})


_MISMATCH = frozenset(w for w in Withheld if w.name.startswith(("SRC_", "DST_"))) - {
    Withheld.SRC_ESCROW_MISSING, Withheld.DST_ESCROW_MISSING, Withheld.SRC_NOT_FINAL,
    Withheld.DST_NOT_FINAL, Withheld.DST_FINALITY_LOCK, Withheld.DST_CANCELLATION_TOO_CLOSE,
    Withheld.DST_RESCUE_TOO_CLOSE}
_NOT_FINAL = frozenset({Withheld.SRC_NOT_FINAL, Withheld.DST_NOT_FINAL,
                        Withheld.DST_FINALITY_LOCK})


@dataclass(frozen=True, slots=True)
class FillFindings:
    """What a fill's status is derived from."""

    src: EscrowState | None
    dst: EscrowState | None
    verdict: Verdict
    released: bool
    now: int
    src_final_depth: int
    """Confirmations the source chain's latest withdrawal or cancellation has."""
    dst_final_depth: int
    required_depth: tuple[int, int]
    """Confirmations needed on the source and the destination chain."""


def derive(view: FillFindings) -> FillStatus:
    src, dst, now = view.src, view.dst, view.now
    if src is None:
        return S.REVERTED
    src_done = src.phase is EscrowPhase.WITHDRAWN
    dst_done = dst is not None and dst.phase is EscrowPhase.WITHDRAWN
    src_final = view.src_final_depth >= view.required_depth[0]
    if src.phase is EscrowPhase.CANCELLED:
        return S.REFUNDED if src_final else S.CANCELLATION
    if src_done and dst_done:
        if src_final and view.dst_final_depth >= view.required_depth[1]:
            return S.SETTLED
        return S.SRC_WITHDRAWN
    src_cancel = stage_start(src.immutables.timelocks, Stage.SRC_CANCELLATION)
    src_public_cancel = stage_start(src.immutables.timelocks, Stage.SRC_PUBLIC_CANCELLATION)
    if not src_done and now >= src_public_cancel:
        return S.PUBLIC_CANCELLATION
    if not src_done and now >= src_cancel:
        return S.CANCELLATION
    if view.released or src_done or dst_done:
        if dst_done:
            return S.DST_WITHDRAWN
        if src_done:
            return S.SRC_WITHDRAWN
        dst_public = (None if dst is None
                      else stage_start(dst.immutables.timelocks, Stage.DST_PUBLIC_WITHDRAWAL))
        if dst_public is not None and now >= dst_public:
            return S.PUBLIC_WITHDRAW
        if now >= stage_start(src.immutables.timelocks, Stage.SRC_PUBLIC_WITHDRAWAL):
            return S.PUBLIC_WITHDRAW
        return S.SECRET_RELEASED
    reasons = set(view.verdict.reasons)
    if reasons & _MISMATCH:
        return S.INVALID_ESCROW
    if dst is None:
        return S.SRC_SEEN
    if reasons & _NOT_FINAL:
        return S.VERIFIED
    if reasons:
        return S.FINAL
    return S.READY

