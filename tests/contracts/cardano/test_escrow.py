"""The escrow validator under `uplc`: every redeemer, each window bound one millisecond
either side, and every refusal. Each refused case changes one thing of a passing one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cbor2
import pytest

from relayer.chains.cardano.datums import to_primitive
from relayer.chains.cardano.escrow_datum import (
    Cancel,
    EscrowRedeemer,
    PublicCancel,
    PublicWithdraw,
    Withdraw,
)
from relayer.chains.cardano.plutus_data import AssetClass, Credential, PlutusAddress
from relayer.chains.cardano.scripts import Validators
from relayer.signing.keccak import keccak256
from tests.contracts.cardano.escrows import (
    AMOUNT,
    ESCROW,
    FUNDS,
    MAKER,
    OTHER,
    PC,
    PW,
    SECOND,
    SECRET,
    TAKER,
    TOKEN,
    C,
    W,
    dst,
    escrow_output,
    payee,
    payment,
    spend,
    src,
)
from tests.contracts.cardano.harness import (
    ScriptRunner,
    Tx,
    key_address,
    key_hash,
    output,
    tag,
)


@pytest.fixture
def check(validators: Validators, runner: ScriptRunner) -> Any:
    def passes(tx: Tx, spent: Any = ESCROW) -> bool:
        return runner.passes(validators.escrow, tx, spent)

    return passes


ROLES = [pytest.param(src, id="src"), pytest.param(dst, id="dst")]


@pytest.mark.parametrize("make", ROLES)
def test_withdraw_window_is_withdrawal_to_cancellation(validators: Validators, check: Any,
                                                       make: Any) -> None:
    def at(lower: int, upper: int) -> bool:
        return check(spend(validators, make(), Withdraw(SECRET), lower=lower, upper=upper))

    assert at(W, W + 1_000)
    assert not at(W - 1, W + 1_000)
    assert at(C - 1_000, C)
    assert not at(C - 1_000, C + 1)


@pytest.mark.parametrize("make", ROLES)
def test_public_withdraw_window_is_public_withdrawal_to_cancellation(
    validators: Validators, check: Any, make: Any
) -> None:
    def at(lower: int, upper: int) -> bool:
        return check(spend(validators, make(), PublicWithdraw(SECRET), lower=lower,
                           upper=upper, signers=()))

    assert at(PW, PW + 1_000)
    assert not at(PW - 1, PW + 1_000)
    assert not at(W, W + 1_000)   # the taker's exclusive window
    assert at(C - 1_000, C)
    assert not at(C - 1_000, C + 1)


@pytest.mark.parametrize("make", ROLES)
def test_cancel_opens_at_cancellation_for_the_taker(validators: Validators, check: Any,
                                                    make: Any) -> None:
    def at(lower: int, upper: int | None) -> bool:
        return check(spend(validators, make(), Cancel(), lower=lower, upper=upper))

    assert at(C, C + 1_000)
    assert not at(C - 1, C + 1_000)
    assert at(C + 10**9, None)        # no end: a cancel needs no upper bound


def test_public_cancel_of_a_source_escrow_opens_at_public_cancellation(
    validators: Validators, check: Any
) -> None:
    def at(lower: int) -> bool:
        return check(spend(validators, src(), PublicCancel(), lower=lower, upper=lower + 1_000,
                           signers=()))

    assert at(PC)
    assert not at(PC - 1)
    assert not at(C)


def test_a_destination_escrow_has_no_public_cancel(validators: Validators, check: Any) -> None:
    assert not check(spend(validators, dst(), PublicCancel(), lower=PC + 10**9, upper=None,
                           signers=(TAKER,)))


@pytest.mark.parametrize(("redeemer", "lower", "upper"), [
    (Withdraw(SECRET), W, C), (PublicWithdraw(SECRET), PW, C), (Cancel(), C, None),
    (PublicCancel(), PC, None),
], ids=["withdraw", "public-withdraw", "cancel", "public-cancel"])
def test_an_unbounded_lower_end_is_refused(validators: Validators, check: Any,
                                           redeemer: EscrowRedeemer, lower: int,
                                           upper: int | None) -> None:
    assert check(spend(validators, src(), redeemer, lower=lower, upper=upper))
    assert not check(spend(validators, src(), redeemer, lower=None, upper=upper))


@pytest.mark.parametrize("make", ROLES)
def test_a_withdrawal_needs_an_upper_bound(validators: Validators, check: Any,
                                           make: Any) -> None:
    assert not check(spend(validators, make(), Withdraw(SECRET), lower=W, upper=None))
    assert not check(spend(validators, make(), PublicWithdraw(SECRET), lower=PW, upper=None))


@pytest.mark.parametrize("redeemer_type", [Withdraw, PublicWithdraw])
def test_wrong_secrets_are_refused(validators: Validators, check: Any,
                                   redeemer_type: Any) -> None:
    def with_secret(secret: bytes, hashlock: bytes = keccak256(SECRET)) -> bool:
        tx = spend(validators, src(hashlock=hashlock), redeemer_type(SECRET), lower=PW, upper=C)
        # by hand: the codec itself refuses secrets that are not 32 bytes
        raw = cbor2.CBORTag(to_primitive(redeemer_type(SECRET)).tag, [secret])
        return check(tx.but(redeemers={ESCROW: raw}))

    assert with_secret(SECRET)
    assert not with_secret(b"\x00" * 32)
    assert not with_secret(SECRET[:31])
    long_secret = SECRET + b"\x01"   # opens its own hashlock, but a secret is 32 bytes
    assert not with_secret(long_secret, keccak256(long_secret))


@pytest.mark.parametrize("make", ROLES)
def test_private_paths_need_the_takers_signature(validators: Validators, check: Any,
                                                 make: Any) -> None:
    for redeemer, lower, upper in ((Withdraw(SECRET), W, C), (Cancel(), C, None)):
        assert check(spend(validators, make(), redeemer, lower=lower, upper=upper))
        for signers in ((), (MAKER,), (OTHER,)):
            assert not check(spend(validators, make(), redeemer, lower=lower, upper=upper,
                                   signers=signers))


def test_a_script_taker_has_only_the_public_paths(validators: Validators, check: Any) -> None:
    datum = dst(taker=PlutusAddress(Credential(key_hash(TAKER), is_script=True)))
    assert not check(spend(validators, datum, Withdraw(SECRET), lower=W, upper=C))
    assert check(spend(validators, datum, PublicWithdraw(SECRET), lower=PW, upper=C))


def test_public_paths_need_no_signature(validators: Validators, check: Any) -> None:
    assert check(spend(validators, dst(), PublicWithdraw(SECRET), lower=PW, upper=C, signers=()))
    assert check(spend(validators, src(), PublicCancel(), lower=PC, upper=None, signers=()))


CASES = [
    (src, Withdraw(SECRET), W, C),
    (dst, Withdraw(SECRET), W, C),
    (src, Cancel(), C, None),
    (dst, Cancel(), C, None),
    (src, PublicCancel(), PC, None),
    (dst, PublicWithdraw(SECRET), PW, C),
]
CASE_IDS = ["src-withdraw", "dst-withdraw", "src-cancel", "dst-cancel", "src-public-cancel",
            "dst-public-withdraw"]


@pytest.mark.parametrize(("make", "redeemer", "lower", "upper"), CASES, ids=CASE_IDS)
def test_the_payment_must_be_the_whole_amount_to_the_payee_tagged(
    validators: Validators, check: Any, make: Any, redeemer: EscrowRedeemer, lower: int,
    upper: int | None,
) -> None:
    datum = make()
    tx = spend(validators, datum, redeemer, lower=lower, upper=upper)
    to = payee(datum, redeemer)
    assert check(tx)
    assert not check(tx.with_output(0, payment(datum, to, amount=AMOUNT - 1)))
    assert not check(tx.with_output(0, payment(datum, key_address(OTHER))))
    staked = replace(to, stake=Credential(b"\x05" * 28))
    assert not check(tx.with_output(0, payment(datum, staked)))
    assert not check(tx.with_output(0, output(to, AMOUNT)))                     # untagged
    assert not check(tx.with_output(0, payment(datum, to, ref=FUNDS)))          # another's tag
    untagged_hash = replace(payment(datum, to), datum=None, datum_hash=b"\x07" * 32)
    assert not check(tx.with_output(0, untagged_hash))
    half = payment(datum, to, amount=AMOUNT // 2)
    assert not check(tx.but(outputs=[half, half, *tx.outputs[1:]]))             # split


@pytest.mark.parametrize(("make", "redeemer", "lower", "upper"), CASES, ids=CASE_IDS)
def test_a_token_escrow_pays_in_its_token(
    validators: Validators, check: Any, make: Any, redeemer: EscrowRedeemer, lower: int,
    upper: int | None,
) -> None:
    datum = make(asset=TOKEN)
    tx = spend(validators, datum, redeemer, lower=lower, upper=upper)
    assert check(tx)
    lovelace_instead = output(payee(datum, redeemer), AMOUNT * 10, datum=tag(ESCROW))
    assert not check(tx.with_output(0, lovelace_instead))
    other_token = replace(datum, asset=AssetClass(TOKEN.policy_id, b"OTHER"))
    assert not check(tx.with_output(0, payment(other_token, payee(datum, redeemer))))


def test_one_payment_cannot_serve_two_escrows(validators: Validators, check: Any) -> None:
    datum = dst()
    tx = spend(validators, datum, Withdraw(SECRET), lower=W, upper=C)
    two = tx.but(inputs={**tx.inputs, SECOND: escrow_output(validators, datum)},
                 redeemers={ESCROW: Withdraw(SECRET), SECOND: Withdraw(SECRET)})
    assert check(two, ESCROW)
    assert not check(two, SECOND)
    both_paid = two.but(outputs=[*two.outputs, payment(datum, datum.maker, ref=SECOND)])
    assert check(both_paid, ESCROW) and check(both_paid, SECOND)


def _tampered(field: int, value: Any) -> bytes:
    data = to_primitive(src())
    fields = list(data.value)
    fields[field] = value
    return cbor2.dumps(cbor2.CBORTag(data.tag, fields))


TAMPERED = {
    "extra field": cbor2.dumps(cbor2.CBORTag(121, [*to_primitive(src()).value, 0])),
    "missing field": cbor2.dumps(cbor2.CBORTag(121, to_primitive(src()).value[:-1])),
    "unknown role": cbor2.dumps(cbor2.CBORTag(123, to_primitive(src()).value)),
    "amount as bytes": _tampered(5, b"\x01"),
    "maker not an address": _tampered(2, b"\x01" * 28),
    "asset with 3 fields": _tampered(4, cbor2.CBORTag(121, [b"", b"", 0])),
    "no datum": b"",
}


@pytest.mark.parametrize("raw", TAMPERED.values(), ids=TAMPERED.keys())
def test_malformed_datums_are_refused(validators: Validators, check: Any, raw: bytes) -> None:
    tx = spend(validators, src(), Cancel(), lower=C, upper=None)
    assert check(tx)
    locked = replace(tx.inputs[ESCROW], datum=raw or None)
    assert not check(tx.but(inputs={**tx.inputs, ESCROW: locked}))


@pytest.mark.parametrize("redeemer", [
    cbor2.CBORTag(125, []),               # no constructor 4
    cbor2.CBORTag(121, [7]),              # Withdraw with an integer
    cbor2.CBORTag(123, [b"\x00"]),        # Cancel with a field
    cbor2.CBORTag(121, [SECRET, SECRET]),
], ids=["constructor 4", "int secret", "cancel with field", "two secrets"])
def test_malformed_redeemers_are_refused(validators: Validators, check: Any,
                                         redeemer: Any) -> None:
    tx = spend(validators, src(), Cancel(), lower=C, upper=None)
    assert not check(tx.but(redeemers={ESCROW: redeemer}))
