# ruff: noqa  (OpShin source: star imports and `assert False` are its idioms)
"""Checks both validators share: validity bounds, signatures, values and tagged payments."""

from opshin.prelude import *


def finite_time(limit: ExtendedPOSIXTime) -> int:
    """The time (POSIX ms) of a finite validity bound; fails on an infinite one."""
    if isinstance(limit, FinitePOSIXTime):
        result = limit.time
    else:
        assert False, "no finite validity bound"
        result = 0
    return result


def lower_bound(tx: TxInfo) -> int:
    return finite_time(tx.validity_range.lower_bound.limit)


def upper_bound(tx: TxInfo) -> int:
    return finite_time(tx.validity_range.upper_bound.limit)


def signed_by(tx: TxInfo, party: Address) -> bool:
    """Whether the key behind the address's payment credential signed the transaction."""
    credential = party.payment_credential
    if isinstance(credential, PubKeyCredential):
        result = credential.credential_hash in tx.signatories
    else:
        result = False
    return result


def quantity(value: Value, asset: Token) -> int:
    return value.get(asset.policy_id, {b"": 0}).get(asset.token_name, 0)


def pays(tx: TxInfo, to: Address, asset: Token, amount: int, lovelace: int, tag: TxOutRef) -> bool:
    """Whether an output to `to`, tagged with `tag` as its inline datum, holds at least
    `amount` of `asset` and `lovelace` lovelace."""
    tagged = SomeOutputDatum(tag)
    ada = Token(b"", b"")
    return any(
        [
            o.address == to
            and o.datum == tagged
            and quantity(o.value, asset) >= amount
            and quantity(o.value, ada) >= lovelace
            for o in tx.outputs
        ]
    )
