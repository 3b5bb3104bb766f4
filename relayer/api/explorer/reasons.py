"""What each reason code that holds a secret back means, for people
(docs/settlement.md has the rules; ``relayer.settlement.policy.Withheld`` the codes)."""

from __future__ import annotations

from relayer.settlement.policy import Withheld

W = Withheld
RULES: dict[Withheld, tuple[str, str]] = {
    W.SRC_FOREIGN_LOCK: ("authenticity", "the escrow was not filled from the maker's own"
                         " order lock"),
    W.SRC_LINEAGE_UNKNOWN: ("authenticity", "where the escrow's funds came from is unknown"),
    W.SRC_WRONG_CHAIN: ("authenticity", "the escrow lives on another chain than the"
                        " order's source"),
    W.SRC_ESCROW_MISSING: ("rule 1", "no source escrow"),
    W.SRC_ORDER_HASH_MISMATCH: ("rule 1", "the source escrow names another order"),
    W.SRC_HASHLOCK_MISMATCH: ("rule 1", "the source escrow has another hashlock"),
    W.SRC_MAKER_MISMATCH: ("rule 1", "the source escrow's maker is not the order's"),
    W.SRC_TOKEN_MISMATCH: ("rule 1", "the source escrow holds another token"),
    W.SRC_AMOUNT_MISMATCH: ("rule 1", "the source escrow holds another amount"),
    W.SRC_SAFETY_DEPOSIT_MISMATCH: ("rule 1", "the source escrow's safety deposit is not"
                                    " the order's"),
    W.SRC_TIMELOCKS_MISMATCH: ("rule 1", "the source escrow's time locks are not the"
                               " order's"),
    W.SRC_NOT_WHOLE_FILL: ("rule 1", "a single-secret order must be filled whole"),
    W.SRC_DUPLICATE_FILL: ("rule 1", "the order already has an authentic fill"),
    W.SRC_OVERFILL: ("rule 1", "with the fills before it, this fill exceeds the order"),
    W.SRC_SECRET_INDEX_REUSED: ("rule 1", "an earlier fill already uses this secret"),
    W.DST_ESCROW_MISSING: ("rule 2", "no destination escrow with this secret hash yet"),
    W.DST_HASHLOCK_MISMATCH: ("rule 2", "the destination escrow has another hashlock"),
    W.DST_RECEIVER_MISMATCH: ("rule 2", "the destination escrow does not pay the"
                              " order's receiver"),
    W.DST_TOKEN_MISMATCH: ("rule 2", "the destination escrow pays in another token"),
    W.DST_AMOUNT_TOO_LOW: ("rule 2", "the destination escrow pays less than the auction"
                           " required"),
    W.DST_SAFETY_DEPOSIT_TOO_LOW: ("rule 2", "the destination escrow's safety deposit is"
                                   " too low"),
    W.DST_TAKER_MISMATCH: ("rule 2", "the destination escrow belongs to another resolver"),
    W.DST_CANCELS_LATE: ("rule 2", "the destination escrow cancels after the source"
                         " escrow"),
    W.DST_PUBLIC_WITHDRAWAL_LATE: ("rule 2", "the destination escrow's public withdrawal"
                                   " opens too late for anyone but the resolver to pay"
                                   " the maker"),
    W.SRC_NOT_FINAL: ("rule 3", "the source escrow needs more confirmations"),
    W.DST_NOT_FINAL: ("rule 3", "the destination escrow needs more confirmations"),
    W.DST_FINALITY_LOCK: ("rule 3", "the order's destination finality lock has not"
                          " passed"),
    W.DST_CANCELLATION_TOO_CLOSE: ("rule 4", "too little time left before the destination"
                                   " escrow cancels"),
    W.DST_RESCUE_TOO_CLOSE: ("rule 4", "the destination escrow's taker may soon take the"
                             " payment back (rescue)"),
    W.ORDER_CANCELLED: ("rule 5", "the order was cancelled"),
    W.SECRET_ALREADY_RELEASED: ("rule 5", "this secret was already released for another"
                                " fill"),
    W.SHARED_HASHLOCK_UNCOVERED: ("rule 6", "another escrow locked with this secret hash"
                                  " has no payment of its own waiting"),
}
"""Each code: the rule it belongs to, and what it means in a few words."""


def describe(code: str) -> tuple[str, str]:
    """The rule and the meaning of ``code``; an unknown code is shown as it is."""
    try:
        member = Withheld(code)
    except ValueError:
        return ("", code)
    return RULES.get(member, ("", code))
