"""Each reveal rule of ARCHITECTURE section 5 holds the secret back on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayer.networks.registry import ChainRegistry
from relayer.orders.timelocks import Stage
from relayer.settlement.parties import RegistryParties
from relayer.settlement.policy import Withheld, evaluate, stage_start
from tests.factories import make_settings
from tests.settlement.scenario import SETTINGS, Fill, good_fill, parties

W = Withheld
Spoil = Callable[[Fill], Fill]


def dst_cancels_late(fill: Fill) -> Fill:
    src_cancel = stage_start(fill.src.immutables.timelocks, Stage.SRC_CANCELLATION)
    dst_cancel = stage_start(fill.dst.immutables.timelocks, Stage.DST_CANCELLATION)
    late = fill.dst.immutables.timelocks + ((src_cancel - dst_cancel + 1) << (32 * 6))
    return fill.with_dst(timelocks=late)


SPOILERS: dict[str, tuple[Spoil, set[Withheld]]] = {
    "src order hash": (lambda f: f.with_src(order_hash="0x" + "00" * 32),
                       {W.SRC_ORDER_HASH_MISMATCH}),
    "src hashlock": (lambda f: f.with_src(hashlock="0x" + "11" * 32),
                     {W.SRC_HASHLOCK_MISMATCH}),
    "src maker": (lambda f: f.with_src(maker="0x" + "22" * 20), {W.SRC_MAKER_MISMATCH}),
    "src token": (lambda f: f.with_src(token="0x" + "33" * 20), {W.SRC_TOKEN_MISMATCH}),
    "src amount": (lambda f: f.with_src(amount=f.src.immutables.amount - 1),
                   {W.SRC_AMOUNT_MISMATCH}),
    "src deposit": (lambda f: f.with_src(safety_deposit=f.src.immutables.safety_deposit - 1),
                    {W.SRC_SAFETY_DEPOSIT_MISMATCH}),
    "src timelocks": (lambda f: f.with_src(timelocks=f.src.immutables.timelocks + 1),
                      {W.SRC_TIMELOCKS_MISMATCH}),
    "dst hashlock": (lambda f: f.with_dst(hashlock="0x" + "44" * 32),
                     {W.DST_HASHLOCK_MISMATCH}),
    "dst receiver": (lambda f: f.with_dst(maker="ab" * 28), {W.DST_RECEIVER_MISMATCH}),
    "dst token": (lambda f: f.with_dst(token="ab" * 28 + ".00"), {W.DST_TOKEN_MISMATCH}),
    "dst amount": (lambda f: f.with_dst(amount=f.required - 1), {W.DST_AMOUNT_TOO_LOW}),
    "dst deposit": (lambda f: f.with_dst(safety_deposit=f.dst.immutables.safety_deposit - 1),
                    {W.DST_SAFETY_DEPOSIT_TOO_LOW}),
    "dst taker": (lambda f: f.with_dst(taker="cd" * 28), {W.DST_TAKER_MISMATCH}),
    "dst cancels late": (dst_cancels_late, {W.DST_CANCELS_LATE}),
    "src not final": (lambda f: Fill(**{**vars(f), "src_confirmations": 1}),
                      {W.SRC_NOT_FINAL}),
    "dst not final": (lambda f: Fill(**{**vars(f), "dst_confirmations": 2}),
                      {W.DST_NOT_FINAL}),
    "dst finality lock": (lambda f: Fill(**{**vars(f), "now": f.now - 1}),
                          {W.DST_FINALITY_LOCK}),
    "order cancelled": (lambda f: Fill(**{**vars(f), "order_cancelled": True}),
                        {W.ORDER_CANCELLED}),
    "secret released": (lambda f: Fill(**{**vars(f), "secret_released": True}),
                        {W.SECRET_ALREADY_RELEASED}),
}


def reasons(fill: Fill) -> set[Withheld]:
    return set(evaluate(fill.facts(), SETTINGS, parties()).reasons)


def test_a_fill_meeting_every_rule_is_released() -> None:
    verdict = evaluate(good_fill().facts(), SETTINGS, parties())
    assert verdict.release and verdict.reasons == ()


@pytest.mark.parametrize("name", sorted(SPOILERS))
def test_each_spoiled_rule_withholds_with_its_reason(name: str) -> None:
    spoil, expected = SPOILERS[name]
    assert reasons(spoil(good_fill())) == expected


def test_safety_margin_boundary() -> None:
    fill = good_fill()
    cancellation = stage_start(fill.dst.immutables.timelocks, Stage.DST_CANCELLATION)
    last_ok = cancellation - SETTINGS.safety_margin - 1
    assert reasons(Fill(**{**vars(fill), "now": last_ok})) == set()
    assert reasons(Fill(**{**vars(fill), "now": last_ok + 1})) == {
        W.DST_CANCELLATION_TOO_CLOSE}


def test_finality_lock_boundary() -> None:
    fill = good_fill()
    begins = stage_start(fill.dst.immutables.timelocks, Stage.DST_WITHDRAWAL)
    assert reasons(Fill(**{**vars(fill), "now": begins})) == set()
    assert reasons(Fill(**{**vars(fill), "now": begins - 1})) == {W.DST_FINALITY_LOCK}


def test_a_source_escrow_without_destination_stages_matches() -> None:
    """A Cardano source escrow's datum holds only the source stages; the destination
    offsets in its packed timelocks are 0, and that is no mismatch. A source stage is."""
    fill = good_fill()
    packed = fill.src.immutables.timelocks
    source_only = packed & ~(((1 << 96) - 1) << (32 * Stage.DST_WITHDRAWAL))
    assert source_only != packed
    assert reasons(fill.with_src(timelocks=source_only)) == set()
    moved = source_only + (1 << (32 * Stage.SRC_PUBLIC_CANCELLATION))
    assert reasons(fill.with_src(timelocks=moved)) == {W.SRC_TIMELOCKS_MISMATCH}


def test_missing_escrows_withhold() -> None:
    facts = good_fill().facts()
    assert W.DST_ESCROW_MISSING in evaluate(replace(facts, dst=None), SETTINGS,
                                            parties()).reasons
    assert W.SRC_ESCROW_MISSING in evaluate(replace(facts, src=None), SETTINGS,
                                            parties()).reasons


def test_resolver_addresses_must_be_paired_in_config() -> None:
    fill = good_fill()
    unpaired = RegistryParties(ChainRegistry.from_settings(make_settings().chains))
    assert W.DST_TAKER_MISMATCH in evaluate(fill.facts(), SETTINGS, unpaired).reasons


@given(st.sets(st.sampled_from(sorted(SPOILERS))))
def test_released_exactly_when_no_rule_fails(spoiled: set[str]) -> None:
    fill = good_fill()
    expected: set[Withheld] = set()
    for name in sorted(spoiled):
        spoil, reasons_of = SPOILERS[name]
        fill = spoil(fill)
        expected |= reasons_of
    got = reasons(fill)
    assert (not got) == (not spoiled)
    assert expected <= got
