# ruff: noqa  (OpShin source: star imports and `assert False` are its idioms)
"""The escrow validator: a keccak-256 hashlock with absolute time windows (POSIX ms).

| redeemer       | source escrow (constructor 0)          | destination escrow (constructor 1) |
|----------------|----------------------------------------|------------------------------------|
| Withdraw(s)    | taker signs; [withdrawal, cancellation) | same                              |
| PublicWithdraw | anyone; [public_withdrawal, cancellation) | same                            |
| Cancel         | taker signs; from cancellation          | same                              |
| PublicCancel   | anyone; from public_cancellation        | refused                           |

"after T" is a finite lower validity bound >= T, "before T" a finite upper bound <= T.
A withdrawal pays `amount` of `asset` to the taker (source) or the maker (destination); a
cancel refunds it to the maker (source) or the taker (destination). The payment carries
the spent escrow's output reference as inline datum. The rest of the escrow's value, the
safety deposit, is left to whoever builds the transaction: the caller.
"""

from opshin.prelude import *
from opshin.std.builtins import *
from opshin.std.integrity import check_integrity
from datums import *
from checks import *


def validator(context: ScriptContext) -> None:
    purpose: Spending = context.purpose
    datum: Union[SrcEscrowDatum, DstEscrowDatum] = own_datum_unsafe(context)
    check_integrity(datum)
    redeemer: Union[Withdraw, PublicWithdraw, Cancel, PublicCancel] = context.redeemer
    check_integrity(redeemer)
    tx = context.transaction
    if isinstance(datum, SrcEscrowDatum):
        withdraw_to = datum.taker
        refund_to = datum.maker
    else:
        withdraw_to = datum.maker
        refund_to = datum.taker
    if isinstance(redeemer, Withdraw) or isinstance(redeemer, PublicWithdraw):
        secret = redeemer.secret
        assert len(secret) == 32, "the secret must be 32 bytes"
        assert keccak_256(secret) == datum.hashlock, "wrong secret"
        if isinstance(redeemer, Withdraw):
            assert signed_by(tx, datum.taker), "the taker did not sign"
            assert lower_bound(tx) >= datum.withdrawal, "too early to withdraw"
        else:
            assert lower_bound(tx) >= datum.public_withdrawal, "too early to withdraw publicly"
        assert upper_bound(tx) <= datum.cancellation, "too late to withdraw"
        assert pays(tx, withdraw_to, datum.asset, datum.amount, 0, purpose.tx_out_ref), "the withdrawal does not pay the amount"
    else:
        if isinstance(redeemer, Cancel):
            assert signed_by(tx, datum.taker), "the taker did not sign"
            assert lower_bound(tx) >= datum.cancellation, "too early to cancel"
        else:
            if isinstance(datum, SrcEscrowDatum):
                assert lower_bound(tx) >= datum.public_cancellation, "too early to cancel publicly"
            else:
                assert False, "a destination escrow has no public cancel"
        assert pays(tx, refund_to, datum.asset, datum.amount, 0, purpose.tx_out_ref), "the cancel does not refund the amount"
