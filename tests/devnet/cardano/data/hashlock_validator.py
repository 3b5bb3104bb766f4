# ruff: noqa  (OpShin source: star imports and `assert False` are its idioms)
"""Test validator: spend needs the secret whose keccak-256 is the datum's hashlock, a
signature of the datum's owner, and a finite lower validity bound at or after `not_before`."""

from opshin.prelude import *
from opshin.std.builtins import *
from opshin.std.integrity import check_integrity


@dataclass()
class LockDatum(PlutusData):
    CONSTR_ID = 0
    owner: bytes
    hashlock: bytes
    not_before: int


def validator(context: ScriptContext) -> None:
    datum: LockDatum = own_datum_unsafe(context)
    check_integrity(datum)
    secret: bytes = context.redeemer
    assert keccak_256(secret) == datum.hashlock, "wrong secret"
    assert datum.owner in context.transaction.signatories, "owner did not sign"
    lower = context.transaction.validity_range.lower_bound.limit
    if isinstance(lower, FinitePOSIXTime):
        assert lower.time >= datum.not_before, "too early"
    else:
        assert False, "no lower bound"
