"""The order validator under `uplc`: Reclaim, Fill at the curve (and one unit under it),
its time bounds, the escrow it must create, partial fills under the Merkle-of-secrets
rule and the maker's leftover. Each refused case changes one thing of a passing one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cbor2
import pytest

from relayer.auction.curve import fill_taking_amount
from relayer.chains.cardano.datums import to_primitive
from relayer.chains.cardano.order_datum import Reclaim
from relayer.chains.cardano.plutus_data import Credential, PlutusAddress
from relayer.chains.cardano.scripts import Validators
from relayer.orders.merkle import merkle_proof, merkle_root
from tests.contracts.cardano.escrows import OTHER
from tests.contracts.cardano.fills import (
    DEPOSIT,
    HASHES,
    MAKER,
    MAKING,
    MAX_FILL_VALIDITY_MS,
    MIN_ADA,
    ORDER,
    ORDER_REF,
    PARTS,
    SECOND_ORDER,
    START,
    TAKER,
    TOKEN,
    TOKEN_ORDER,
    escrow_output,
    fill_tx,
    order_output,
    scene,
    with_escrow,
)
from tests.contracts.cardano.harness import (
    ScriptRunner,
    Tx,
    key_address,
    key_hash,
    output,
    script_address,
    tag,
)


@pytest.fixture
def check(validators: Validators, runner: ScriptRunner) -> Any:
    def passes(tx: Tx) -> bool:
        return runner.passes(validators.order, tx, ORDER_REF)

    return passes


# ---------------------------------------------------------------------------- reclaim


def test_the_maker_reclaims(validators: Validators, check: Any) -> None:
    tx = fill_tx(validators, scene()).but(redeemers={ORDER_REF: Reclaim()}, outputs=[],
                                          lower=None, upper=None)
    assert check(tx.but(signers=[key_hash(MAKER)]))
    assert not check(tx.but(signers=[key_hash(TAKER)]))
    assert not check(tx.but(signers=[]))


def test_a_partly_filled_order_is_reclaimed_too(validators: Validators, check: Any) -> None:
    order = replace(PARTS, filled=25_000_000)
    tx = fill_tx(validators, scene(order)).but(redeemers={ORDER_REF: Reclaim()},
                                               signers=[key_hash(MAKER)])
    assert check(tx)


# ---------------------------------------------------------------------------- the curve


@pytest.mark.parametrize("offset", [-10, 0, 1, 30, 59, 60, 61, 120, 179, 180, 500])
def test_a_fill_must_promise_the_curve_at_its_lower_bound(validators: Validators, check: Any,
                                                          offset: int) -> None:
    s = scene(lower=(START + offset) * 1000)
    tx = fill_tx(validators, s)
    assert check(tx)
    undercut = replace(s.escrow, dst_amount=s.required - 1)
    assert not check(with_escrow(validators, tx, undercut))
    more = replace(s.escrow, dst_amount=s.required + 1)
    assert check(with_escrow(validators, tx, more))


def test_the_curve_is_read_at_the_second_of_the_lower_bound(validators: Validators,
                                                            check: Any) -> None:
    t = START + 90   # the price falls every second here
    at_t = scene(lower=t * 1000)
    assert scene(lower=t * 1000 - 1).required > at_t.required
    assert check(fill_tx(validators, at_t))
    assert check(fill_tx(validators, scene(lower=t * 1000 + 999, dst_amount=at_t.required)))
    early = scene(lower=t * 1000 - 1, dst_amount=at_t.required)
    assert not check(fill_tx(validators, early))


def test_the_gas_adjustment_does_not_apply_on_cardano(validators: Validators,
                                                      check: Any) -> None:
    auction = replace(ORDER.auction, gas_bump_estimate=10_000, gas_price_estimate=1_000)
    s = scene(replace(ORDER, auction=auction))
    # base fee 0: the whole auction bump is due
    assert s.required == fill_taking_amount(ORDER.taking_amount, MAKING, MAKING, auction,
                                            START + 30, base_fee=0)
    tx = fill_tx(validators, s)
    assert check(tx)
    assert not check(with_escrow(validators, tx, replace(s.escrow, dst_amount=s.required - 1)))


# ---------------------------------------------------------------------------- time bounds


def test_bounds_deadline_and_validity_length(validators: Validators, check: Any) -> None:
    s = scene()
    tx = fill_tx(validators, s)
    assert not check(tx.but(lower=None))
    assert not check(tx.but(upper=None))
    assert check(tx.but(upper=s.lower + MAX_FILL_VALIDITY_MS))
    assert not check(tx.but(upper=s.lower + MAX_FILL_VALIDITY_MS + 1))
    late = scene(lower=ORDER.deadline * 1000 - 60_000)
    late_tx = fill_tx(validators, late)
    assert check(late_tx)   # upper bound == deadline
    assert not check(late_tx.but(upper=late.upper + 1))


# ---------------------------------------------------------------------------- the escrow


ESCROW_CHANGES = {
    "order hash": {"order_hash": b"\x02" * 32},
    "hashlock": {"hashlock": HASHES[1]},
    "maker": {"maker": key_address(OTHER)},
    "asset": {"asset": TOKEN},
    "safety deposit": {"safety_deposit": DEPOSIT - 1},
    "withdrawal": {"withdrawal": scene().escrow.withdrawal + 1},
    "public withdrawal": {"public_withdrawal": scene().escrow.public_withdrawal - 1},
    "cancellation": {"cancellation": scene().escrow.cancellation + 1},
    "public cancellation": {"public_cancellation": scene().escrow.public_cancellation - 1},
}


@pytest.mark.parametrize("changes", ESCROW_CHANGES.values(), ids=ESCROW_CHANGES.keys())
def test_the_escrow_datum_must_be_the_orders(validators: Validators, check: Any,
                                             changes: dict[str, Any]) -> None:
    s = scene()
    tx = fill_tx(validators, s)
    assert check(tx)
    assert not check(with_escrow(validators, tx, replace(s.escrow, **changes)))


def test_the_escrow_must_hold_the_fill_and_the_deposit(validators: Validators,
                                                       check: Any) -> None:
    s = scene()
    tx = fill_tx(validators, s)
    assert not check(tx.with_output(0, escrow_output(validators, s.escrow, amount=MAKING - 1)))
    assert not check(tx.with_output(0, escrow_output(validators, s.escrow, deposit=DEPOSIT - 1)))
    token = scene(TOKEN_ORDER)
    token_tx = fill_tx(validators, token)
    assert check(token_tx)
    short = escrow_output(validators, token.escrow, amount=MAKING - 1)
    assert not check(token_tx.with_output(0, short))
    no_deposit = escrow_output(validators, token.escrow, deposit=DEPOSIT - 1)
    assert not check(token_tx.with_output(0, no_deposit))


def test_the_escrow_must_sit_at_the_escrow_script_with_an_inline_datum(
    validators: Validators, check: Any
) -> None:
    s = scene()
    tx = fill_tx(validators, s)
    good = tx.outputs[0]
    order_script = script_address(bytes(validators.order.hash.payload))
    escrow_hash = bytes(validators.escrow.hash.payload)
    staked = PlutusAddress(Credential(escrow_hash, is_script=True), Credential(b"\x05" * 28))
    assert not check(tx.with_output(0, replace(good, address=order_script)))
    assert not check(tx.with_output(0, output(staked, good.lovelace, datum=s.escrow)))
    assert not check(tx.with_output(0, replace(good, datum=None, datum_hash=b"\x07" * 32)))
    assert not check(tx.but(redeemers={ORDER_REF: replace(s.redeemer, escrow_output=1)},
                            outputs=[*tx.outputs, output(key_address(TAKER), 1_000_000)]))


def test_the_taker_signs_the_fill(validators: Validators, check: Any) -> None:
    tx = fill_tx(validators, scene())
    assert not check(tx.but(signers=[key_hash(MAKER)]))
    script_taker = PlutusAddress(Credential(key_hash(TAKER), is_script=True))
    s = scene()
    assert not check(with_escrow(validators, tx, replace(s.escrow, taker=script_taker)))


def test_a_fill_spends_one_order_output(validators: Validators, check: Any) -> None:
    tx = fill_tx(validators, scene())
    other = order_output(validators, replace(ORDER, order_hash=b"\x09" * 32))
    assert not check(tx.but(inputs={**tx.inputs, SECOND_ORDER: other},
                            redeemers={**tx.redeemers, SECOND_ORDER: Reclaim()},
                            signers=[key_hash(TAKER), key_hash(MAKER)]))


def test_an_order_in_one_part_is_filled_whole(validators: Validators, check: Any) -> None:
    assert not check(fill_tx(validators, scene(amount=MAKING // 2)))


@pytest.mark.parametrize("raw", [
    cbor2.CBORTag(121, to_primitive(ORDER).value[:-1]),
    cbor2.CBORTag(122, to_primitive(ORDER).value),
], ids=["12 fields", "constructor 1"])
def test_malformed_order_datums_are_refused(validators: Validators, check: Any,
                                            raw: Any) -> None:
    tx = fill_tx(validators, scene()).but(redeemers={ORDER_REF: Reclaim()},
                                          signers=[key_hash(MAKER)])
    tampered = replace(tx.inputs[ORDER_REF], datum=cbor2.dumps(raw))
    assert not check(tx.but(inputs={**tx.inputs, ORDER_REF: tampered}))


@pytest.mark.parametrize("raw", [
    cbor2.CBORTag(122, [0, 1, 0]),
    cbor2.CBORTag(122, [0, 1, 0, b""]),
    cbor2.CBORTag(123, []),
], ids=["3 fields", "proof not a list", "constructor 2"])
def test_malformed_fill_redeemers_are_refused(validators: Validators, check: Any,
                                              raw: Any) -> None:
    assert not check(fill_tx(validators, scene()).but(redeemers={ORDER_REF: raw}))


# ---------------------------------------------------------------------------- in parts


def test_partial_fills_take_the_secrets_in_order(validators: Validators, check: Any) -> None:
    quarter = MAKING // 4
    filled = 0
    for index in (0, 1, 2, 4):   # the completing fill uses the last secret
        s = scene(replace(PARTS, filled=filled), amount=quarter)
        assert s.redeemer.secret_index == index
        assert check(fill_tx(validators, s)), index
        filled += quarter


def test_a_partial_fill_proves_its_secret(validators: Validators, check: Any) -> None:
    s = scene(PARTS, amount=MAKING // 4)
    tx = fill_tx(validators, s)
    assert check(tx)
    wrong_index = replace(s.redeemer, secret_index=1)
    assert not check(tx.but(redeemers={ORDER_REF: wrong_index}))
    wrong_proof = replace(s.redeemer, proof=tuple(merkle_proof(HASHES, 1)))
    assert not check(tx.but(redeemers={ORDER_REF: wrong_proof}))
    next_secret = replace(s.escrow, hashlock=HASHES[1])
    assert not check(with_escrow(validators, tx, next_secret))
    both = replace(s.redeemer, secret_index=1, proof=tuple(merkle_proof(HASHES, 1)))
    assert not check(with_escrow(validators, tx, next_secret).but(redeemers={ORDER_REF: both}))


def test_a_secret_index_is_used_once(validators: Validators, check: Any) -> None:
    # 10 filled used index 0; a fill of 5 more would need index 0 again
    s = scene(replace(PARTS, filled=10_000_000), amount=5_000_000)
    assert s.redeemer.secret_index == 0
    assert not check(fill_tx(validators, s))
    assert check(fill_tx(validators, scene(replace(PARTS, filled=10_000_000),
                                           amount=20_000_000)))


def test_a_fill_cannot_exceed_what_remains(validators: Validators, check: Any) -> None:
    order = replace(PARTS, filled=75_000_000)
    assert check(fill_tx(validators, scene(order)))
    over = scene(order, amount=25_000_000)
    assert not check(fill_tx(validators, replace(over, escrow=replace(over.escrow,
                                                                       amount=25_000_001))))
    zero = scene(PARTS, amount=1)
    assert not check(fill_tx(validators, replace(zero, escrow=replace(zero.escrow, amount=0))))


def test_the_continuing_output_carries_the_rest(validators: Validators, check: Any) -> None:
    s = scene(PARTS, amount=MAKING // 4)
    tx = fill_tx(validators, s)
    rest = replace(PARTS, filled=MAKING // 4)
    assert check(tx)
    assert not check(tx.with_output(1, order_output(validators, replace(rest, filled=1))))
    assert not check(tx.with_output(1, order_output(validators, replace(
        rest, taking_amount=rest.taking_amount - 1))))
    short = order_output(validators, rest, lovelace=rest.remaining - 1)
    assert not check(tx.with_output(1, short))
    moved = replace(tx.outputs[1], address=script_address(bytes(validators.escrow.hash.payload)))
    assert not check(tx.with_output(1, moved))
    assert not check(tx.but(outputs=tx.outputs[:1]))


def test_a_native_asset_order_keeps_the_makers_lovelace(validators: Validators,
                                                        check: Any) -> None:
    parts = replace(TOKEN_ORDER, parts=4, hashlock=merkle_root(HASHES))
    partial = fill_tx(validators, scene(parts, amount=MAKING // 4))
    assert check(partial)
    rest = replace(parts, filled=MAKING // 4)
    poorer = order_output(validators, rest, lovelace=MIN_ADA - 1, tokens=rest.remaining)
    assert not check(partial.with_output(1, poorer))
    fewer = order_output(validators, rest, tokens=rest.remaining - 1)
    assert not check(partial.with_output(1, fewer))

    whole = fill_tx(validators, scene(TOKEN_ORDER))
    assert check(whole)
    refund = whole.outputs[1]
    assert not check(whole.but(outputs=whole.outputs[:1]))
    assert not check(whole.with_output(1, replace(refund, lovelace=MIN_ADA - 1)))
    assert not check(whole.with_output(1, replace(refund, datum=None)))
    assert not check(whole.with_output(1, output(key_address(OTHER), MIN_ADA,
                                                 datum=tag(ORDER_REF))))


def test_a_lovelace_order_returns_lovelace_beyond_the_making_amount(validators: Validators,
                                                                    check: Any) -> None:
    s = scene()
    tx = fill_tx(validators, s)
    richer = tx.but(inputs={**tx.inputs, ORDER_REF: order_output(validators, ORDER,
                                                                 lovelace=MAKING + MIN_ADA)})
    assert not check(richer)
    assert check(richer.but(outputs=[*tx.outputs, output(ORDER.maker, MIN_ADA,
                                                         datum=tag(ORDER_REF))]))
